using System;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.Redis.Codec;

/// <summary>
/// The stored form of <see cref="RpcOwner"/> records (the byte layout is in docs/wire-protocol.md).
/// The instance id comes right after the version so that a script can tell whether an instance
/// owns the call by comparing a prefix (<see cref="OwnerPrefix"/>), without parsing the record.
/// </summary>
internal static class RpcOwnerCodec
{
    public const byte Version = 1;

    private const string What = "TypedRpc owner record";

    public static byte[] Encode(RpcOwner owner)
    {
        var destination = owner.ReplyAddress.IsEmpty ? null : owner.ReplyAddress.Destination;
        var partition = owner.ReplyAddress.IsEmpty ? 0u : (uint)(owner.ReplyAddress.Partition + 1);
        var buffer = new byte[1 + ValueWriter.StringSize(owner.InstanceId) + ValueWriter.StringSize(destination) + ValueWriter.VarUInt32Size(partition)
            + (owner.Fingerprint is null ? 0 : ValueWriter.StringSize(owner.Fingerprint))];
        var writer = new ValueWriter(buffer);
        writer.WriteByte(Version);
        writer.WriteString(owner.InstanceId);
        writer.WriteString(destination);
        writer.WriteVarUInt32(partition);
        if (owner.Fingerprint is not null)
        {
            writer.WriteString(owner.Fingerprint);
        }

        return buffer;
    }

    /// <summary>The first bytes of every record <paramref name="instanceId"/> owns.</summary>
    public static byte[] OwnerPrefix(string instanceId)
    {
        var buffer = new byte[1 + ValueWriter.StringSize(instanceId)];
        var writer = new ValueWriter(buffer);
        writer.WriteByte(Version);
        writer.WriteString(instanceId);
        return buffer;
    }

    public static RpcOwner Decode(byte[] data, string key)
    {
        var reader = new ValueReader(data, key, What);
        reader.ExpectVersion(Version);
        var instanceId = reader.ReadString();
        if (instanceId.Length == 0)
        {
            throw reader.Corrupt("the instance id is empty");
        }

        var destination = reader.ReadString();
        var partition = reader.ReadVarUInt32();
        if (partition > int.MaxValue)
        {
            throw reader.Corrupt("the partition is out of range");
        }

        string? fingerprint = null;
        if (!reader.AtEnd)
        {
            fingerprint = reader.ReadString();
            if (fingerprint.Length == 0)
            {
                throw reader.Corrupt("the fingerprint is empty");
            }
        }

        reader.ExpectEnd();
        if (destination.Length == 0)
        {
            if (partition != 0)
            {
                throw reader.Corrupt("an empty reply address has a partition");
            }

            return new RpcOwner(instanceId, default) { Fingerprint = fingerprint };
        }

        return new RpcOwner(instanceId, new RpcReplyAddress(destination, (int)partition - 1)) { Fingerprint = fingerprint };
    }
}
