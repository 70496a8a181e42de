using System;
using System.Collections.Generic;
using System.Threading;

namespace TypedRpc;

/// <summary>What a server handler knows about the call it is handling.</summary>
public abstract class RpcServerCallContext
{
    /// <summary>The call's correlation id.</summary>
    public abstract string CorrelationId { get; }

    /// <summary>The method being called.</summary>
    public abstract RpcMethodDescriptor Method { get; }

    /// <summary>The time by which the caller stops waiting.</summary>
    public abstract DateTimeOffset Deadline { get; }

    /// <summary>The caller's application headers.</summary>
    public abstract IReadOnlyDictionary<string, string> RequestHeaders { get; }

    /// <summary>Signalled when the deadline passes or the server shuts down.</summary>
    public abstract CancellationToken CancellationToken { get; }
}
