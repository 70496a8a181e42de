using System;

namespace TypedRpc;

/// <summary>
/// Sets how long a call waits for its reply. On a method it applies to that method; on a
/// contract interface it is the default for every method without its own attribute.
/// A per-call <see cref="RpcCallOptions"/> timeout or deadline takes precedence.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Interface, AllowMultiple = false, Inherited = false)]
public sealed class RpcTimeoutAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="timeoutMs">The time to wait for the reply, in milliseconds; greater than zero.</param>
    public RpcTimeoutAttribute(int timeoutMs) => TimeoutMs = timeoutMs;

    /// <summary>The time to wait for the reply, in milliseconds.</summary>
    public int TimeoutMs { get; }

    /// <summary>
    /// When the timeout elapses, check the result store and then wait this many milliseconds
    /// more, once, before giving up. Zero (the default) means no extension.
    /// </summary>
    public int ExtendByMs { get; set; }
}
