using System;
using System.Collections.Generic;

namespace TypedRpc.Transport;

/// <summary>A request as it crosses the transport: the envelope (the headers of docs/wire-protocol.md) and the argument object.</summary>
public sealed class RpcRequest
{
    /// <summary>The call's correlation id.</summary>
    public required CorrelationId Id { get; init; }

    /// <summary>The service name.</summary>
    public required string Service { get; init; }

    /// <summary>The method's wire name (without the service).</summary>
    public required string Method { get; init; }

    /// <summary>Where the reply goes.</summary>
    public required RpcReplyAddress ReplyTo { get; init; }

    /// <summary>The instance id of the caller that registered as owner.</summary>
    public required string Owner { get; init; }

    /// <summary>The caller's deadline, in unix milliseconds.</summary>
    public required long DeadlineUnixMs { get; init; }

    /// <summary>The argument object (UTF-8 JSON).</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>The record key (<see cref="RpcKeyAttribute"/>), or <see langword="null"/>.</summary>
    public string? Key { get; init; }

    /// <summary>The caller's application headers, or <see langword="null"/>.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>
    /// For a call with an idempotency key: 32 hexadecimal digits identifying the request (method and
    /// encoded arguments), so that a server can refuse the key's reuse for a different request;
    /// otherwise <see langword="null"/>.
    /// </summary>
    public string? Fingerprint { get; init; }

    /// <summary>
    /// When the caller leaves its owner record to the server: the record's expiry (unix ms), and the
    /// server's claim writes the record (<see cref="Owner"/>, <see cref="ReplyTo"/>) as it takes the
    /// request, before any reply exists; 0 when the caller records it itself.
    /// </summary>
    public long OwnerRecordUntilUnixMs { get; init; }

    /// <summary>The W3C <c>traceparent</c> of the client span, or <see langword="null"/>.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The W3C <c>tracestate</c>, or <see langword="null"/>.</summary>
    public string? TraceState { get; init; }

    /// <summary>
    /// Set by a transport that received a record it could only partly decode (for example a bad
    /// header): the engine answers <see cref="RpcStatusCode.InvalidArgument"/> with this text
    /// instead of running the request. Id and <see cref="ReplyTo"/> must still be valid.
    /// </summary>
    public string? DecodeError { get; init; }

    /// <summary>The method's <c>service/method</c> name.</summary>
    public string FullMethodName => Service + "/" + Method;
}
