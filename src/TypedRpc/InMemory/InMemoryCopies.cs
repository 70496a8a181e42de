using System;
using System.Collections.Generic;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>
/// Copies of messages for the in-memory stores. A real broker or store serializes what it is
/// given, so a caller may reuse its buffers as soon as a send completes; these copies keep that
/// true in memory, and keep tests honest about it.
/// </summary>
internal static class InMemoryCopies
{
    /// <summary>Copies a request with its own payload and headers.</summary>
    /// <remarks>Every property of <see cref="RpcRequest"/> must be listed here: a new one left out would silently vanish in transit.</remarks>
    public static RpcRequest Copy(RpcRequest request) => new()
    {
        Id = request.Id,
        Service = request.Service,
        Method = request.Method,
        ReplyTo = request.ReplyTo,
        Owner = request.Owner,
        DeadlineUnixMs = request.DeadlineUnixMs,
        Payload = CopyBytes(request.Payload),
        Key = request.Key,
        Headers = request.Headers is null ? null : new Dictionary<string, string>(request.Headers, StringComparer.Ordinal),
        TraceParent = request.TraceParent,
        TraceState = request.TraceState,
        Fingerprint = request.Fingerprint,
        DecodeError = request.DecodeError,
    };

    /// <summary>Copies a reply with its own payload.</summary>
    /// <remarks>Every property of <see cref="RpcReply"/> must be listed here.</remarks>
    public static RpcReply Copy(RpcReply reply) => new()
    {
        Id = reply.Id,
        Status = reply.Status,
        Detail = reply.Detail,
        Sequence = reply.Sequence,
        IsEnd = reply.IsEnd,
        HasValue = reply.HasValue,
        Payload = CopyBytes(reply.Payload),
    };

    private static ReadOnlyMemory<byte> CopyBytes(ReadOnlyMemory<byte> bytes) => bytes.IsEmpty ? ReadOnlyMemory<byte>.Empty : bytes.ToArray();
}
