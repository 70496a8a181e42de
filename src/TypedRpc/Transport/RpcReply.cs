using System;

namespace TypedRpc.Transport;

/// <summary>
/// One reply message. A unary call gets one (sequence 0, end); a streaming call gets one per item
/// (sequence 0, 1, …) and then an end message carrying the final status and no item.
/// </summary>
public sealed class RpcReply
{
    /// <summary>The call's correlation id.</summary>
    public required CorrelationId Id { get; init; }

    /// <summary>The status; anything but OK ends the call.</summary>
    public RpcStatusCode Status { get; init; }

    /// <summary>The status detail, or <see langword="null"/>.</summary>
    public string? Detail { get; init; }

    /// <summary>The message's position in the call's replies, from 0.</summary>
    public int Sequence { get; init; }

    /// <summary><see langword="true"/> on the last message of the call.</summary>
    public bool IsEnd { get; init; }

    /// <summary>
    /// <see langword="true"/> when the message carries a value in <see cref="Payload"/> (a unary
    /// result or a stream item); <see langword="false"/> for an acknowledgement, an error or a
    /// stream's end message.
    /// </summary>
    public bool HasValue { get; init; }

    /// <summary>The value (UTF-8 JSON) when <see cref="HasValue"/>.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>
    /// <see langword="true"/> when the server's claim wrote the caller's owner record
    /// (<see cref="RpcRequest.OwnerRecordUntilUnixMs"/>): the caller may leave the record to the
    /// service's servers from then on.
    /// </summary>
    public bool OwnerRecorded { get; init; }

    /// <summary>The status as an <see cref="RpcStatus"/>.</summary>
    public RpcStatus ToStatus() => new(Status, Detail);

    /// <summary>An error reply ending the call.</summary>
    /// <param name="id">The call.</param>
    /// <param name="status">The status (not OK).</param>
    /// <param name="sequence">The message's sequence number.</param>
    /// <returns>The reply.</returns>
    public static RpcReply Error(CorrelationId id, RpcStatus status, int sequence = 0) =>
        new() { Id = id, Status = status.StatusCode, Detail = status.Detail, Sequence = sequence, IsEnd = true };

    /// <inheritdoc />
    public override string ToString() => $"Reply({Id}, #{Sequence}{(IsEnd ? ", end" : "")}, {Status})";
}
