using System;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>
/// Copies of replies for the in-memory store. A real store serializes what it is given, so a
/// caller may reuse its buffers as soon as a write completes; these copies keep that true in
/// memory, and keep tests honest about it.
/// </summary>
internal static class InMemoryCopies
{
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
