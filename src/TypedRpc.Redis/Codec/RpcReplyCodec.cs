using System;
using System.Collections.Generic;
using TypedRpc.Transport;

namespace TypedRpc.Redis.Codec;

/// <summary>
/// The stored form of <see cref="RpcReply"/> values and of reply lists (a completed claim's cache);
/// the byte layout is in docs/wire-protocol.md. The version byte comes first, so a later format can
/// be read side by side with this one.
/// </summary>
internal static class RpcReplyCodec
{
    public const byte Version = 1;
    public const byte ListVersion = 1;

    private const byte EndFlag = 1;
    private const byte HasValueFlag = 2;
    private const byte HasDetailFlag = 4;
    private const byte KnownFlags = EndFlag | HasValueFlag | HasDetailFlag;

    private const string What = "TypedRpc reply";
    private const string ListWhat = "TypedRpc reply list";

    public static byte[] Encode(RpcReply reply)
    {
        var buffer = new byte[Size(reply)];
        var writer = new ValueWriter(buffer);
        Write(ref writer, reply);
        return buffer;
    }

    public static byte[] EncodeList(IReadOnlyList<RpcReply> replies)
    {
        var size = 1 + ValueWriter.VarUInt32Size((uint)replies.Count);
        for (var i = 0; i < replies.Count; i++)
        {
            var replySize = Size(replies[i]);
            size += ValueWriter.VarUInt32Size((uint)replySize) + replySize;
        }

        var buffer = new byte[size];
        var writer = new ValueWriter(buffer);
        writer.WriteByte(ListVersion);
        writer.WriteVarUInt32((uint)replies.Count);
        for (var i = 0; i < replies.Count; i++)
        {
            writer.WriteVarUInt32((uint)Size(replies[i]));
            Write(ref writer, replies[i]);
        }

        return buffer;
    }

    /// <summary>Decodes one reply; the payload is a slice of <paramref name="data"/> (not copied).</summary>
    /// <param name="data">The stored bytes, owned by the caller from now on.</param>
    /// <param name="key">The key it was read from, for the error message.</param>
    /// <param name="expectedId">The call it must belong to.</param>
    public static RpcReply Decode(byte[] data, string key, CorrelationId expectedId)
    {
        var reader = new ValueReader(data, key, What);
        var reply = Read(ref reader, data, expectedId);
        reader.ExpectEnd();
        return reply;
    }

    public static RpcReply[] DecodeList(byte[] data, string key, CorrelationId expectedId)
    {
        var reader = new ValueReader(data, key, ListWhat);
        reader.ExpectVersion(ListVersion);
        var count = reader.ReadVarUInt32();

        // Every reply takes at least 20 bytes, which bounds a damaged count before allocating for it.
        if (count > (uint)data.Length / 20)
        {
            throw reader.Corrupt($"it claims {count} replies");
        }

        var replies = new RpcReply[count];
        for (var i = 0; i < replies.Length; i++)
        {
            var length = reader.ReadLength();
            var start = reader.Position;
            replies[i] = Read(ref reader, data, expectedId);
            if (reader.Position - start != length)
            {
                throw reader.Corrupt($"reply {i} is not {length} bytes long");
            }
        }

        reader.ExpectEnd();
        return replies;
    }

    private static int Size(RpcReply reply)
    {
        var size = 1 + CorrelationId.Size + 1
            + ValueWriter.VarUInt32Size((uint)reply.Status)
            + ValueWriter.VarUInt32Size((uint)reply.Sequence)
            + ValueWriter.VarUInt32Size((uint)reply.Payload.Length) + reply.Payload.Length;
        if (reply.Detail is not null)
        {
            size += ValueWriter.StringSize(reply.Detail);
        }

        return size;
    }

    private static void Write(ref ValueWriter writer, RpcReply reply)
    {
        writer.WriteByte(Version);
        Span<byte> id = stackalloc byte[CorrelationId.Size];
        reply.Id.WriteTo(id);
        writer.WriteBytes(id);
        var flags = (byte)((reply.IsEnd ? EndFlag : 0) | (reply.HasValue ? HasValueFlag : 0) | (reply.Detail is null ? 0 : HasDetailFlag));
        writer.WriteByte(flags);
        writer.WriteVarUInt32((uint)reply.Status);
        writer.WriteVarUInt32((uint)reply.Sequence);
        if (reply.Detail is not null)
        {
            writer.WriteString(reply.Detail);
        }

        writer.WriteLengthPrefixed(reply.Payload.Span);
    }

    private static RpcReply Read(ref ValueReader reader, byte[] data, CorrelationId expectedId)
    {
        reader.ExpectVersion(Version);
        var id = CorrelationId.FromBytes(reader.ReadBytes(CorrelationId.Size));
        if (id != expectedId)
        {
            throw reader.Corrupt($"it belongs to call {id}, not {expectedId}");
        }

        var flags = reader.ReadByte();
        if ((flags & ~KnownFlags) != 0)
        {
            throw reader.Corrupt($"unknown flags 0x{flags:x2}");
        }

        var status = (RpcStatusCode)reader.ReadVarUInt32();
        var sequence = (int)reader.ReadVarUInt32();
        var detail = (flags & HasDetailFlag) != 0 ? reader.ReadString() : null;
        var payloadLength = reader.ReadLength();
        var payload = payloadLength == 0 ? ReadOnlyMemory<byte>.Empty : new ReadOnlyMemory<byte>(data, reader.Position, payloadLength);
        reader.ReadBytes(payloadLength);
        return new RpcReply
        {
            Id = id,
            Status = status,
            Detail = detail,
            Sequence = sequence,
            IsEnd = (flags & EndFlag) != 0,
            HasValue = (flags & HasValueFlag) != 0,
            Payload = payload,
        };
    }
}
