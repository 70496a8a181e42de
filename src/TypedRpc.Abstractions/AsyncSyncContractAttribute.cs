using System;

namespace TypedRpc;

/// <summary>
/// Marks an interface as a TypedRpc contract: an asynchronous request/reply conversation
/// between two clusters that callers use as an ordinary typed method call.
/// </summary>
/// <remarks>
/// The TypedRpc source generator emits, for each contract, a client proxy implementing the
/// interface, an abstract server base class to derive from, a reflection-free dispatcher,
/// a descriptor and a registration. Invalid contracts are compile errors (<c>TRPC0001</c>…).
/// The attribute is accepted on classes and structs only so that the generator can explain
/// the mistake (<c>TRPC0001</c>) instead of the compiler's generic attribute-target error.
/// </remarks>
[AttributeUsage(AttributeTargets.Interface | AttributeTargets.Class | AttributeTargets.Struct, AllowMultiple = false, Inherited = false)]
public sealed class AsyncSyncContractAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="serviceName">
    /// The logical service name, unique among the contracts of a system. It names the request
    /// topic and the server consumer group unless <see cref="Topic"/> overrides the topic.
    /// Letters, digits, '.', '_' and '-' only (the characters Kafka allows in topic names).
    /// </param>
    public AsyncSyncContractAttribute(string serviceName) => ServiceName = serviceName;

    /// <summary>The logical service name.</summary>
    public string ServiceName { get; }

    /// <summary>Optional request topic name; when unset the topic is derived from <see cref="ServiceName"/>.</summary>
    public string? Topic { get; set; }
}
