using System;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>
/// A request that <see cref="InMemoryRpcTransport"/> gave up on after
/// <see cref="InMemoryRpcTransport.MaxDeliveryAttempts"/> failed deliveries.
/// </summary>
public sealed class InMemoryDeadLetter
{
    internal InMemoryDeadLetter(string service, RpcRequest request, int attempts, string reason, Exception? exception)
    {
        Service = service;
        Request = request;
        Attempts = attempts;
        Reason = reason;
        Exception = exception;
    }

    /// <summary>The service (<see cref="RpcServiceDescriptor.ServiceName"/>) the request was sent to.</summary>
    public string Service { get; }

    /// <summary>The request, as the transport stored it (its own copy of the payload).</summary>
    public RpcRequest Request { get; }

    /// <summary>How many deliveries failed, the last included.</summary>
    public int Attempts { get; }

    /// <summary>Why the last delivery failed: the handler's exception, or the subscription's disposal.</summary>
    public string Reason { get; }

    /// <summary>The exception the handler threw on the last delivery, or <see langword="null"/> when its subscription was disposed instead.</summary>
    public Exception? Exception { get; }

    /// <inheritdoc />
    public override string ToString() => $"DeadLetter({Service}, {Request.Id}, {Attempts} attempts: {Reason})";
}
