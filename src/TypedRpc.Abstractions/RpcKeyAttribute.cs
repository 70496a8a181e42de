using System;

namespace TypedRpc;

/// <summary>
/// Marks the parameter whose value becomes the request's partitioning key, so that requests
/// with the same key are handled in order. At most one per method; supported types are
/// <see cref="string"/>, <see cref="Guid"/>, integer types and enums.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class RpcKeyAttribute : Attribute
{
}
