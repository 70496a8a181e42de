using System;
using System.Collections.Generic;
using TypedRpc.Ownership;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Shared;

/// <summary>Owners and replies for the tests of both projects: the store contracts and each store's own tests.</summary>
internal static class StoreTestData
{
    public static readonly TimeSpan Ttl = TimeSpan.FromMinutes(1);

    public static RpcOwner Owner(string instanceId, int partition = 3) => new(instanceId, new RpcReplyAddress("replies." + instanceId, partition));

    public static RpcReply Reply(CorrelationId id, int sequence, byte[]? payload = null, bool isEnd = false, string? detail = null) => new()
    {
        Id = id,
        Sequence = sequence,
        IsEnd = isEnd,
        Status = RpcStatusCode.OK,
        Detail = detail,
        HasValue = payload is not null,
        Payload = payload ?? ReadOnlyMemory<byte>.Empty,
    };

    public static void AssertSameReply(RpcReply expected, RpcReply actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Sequence, actual.Sequence);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.Detail, actual.Detail);
        Assert.Equal(expected.IsEnd, actual.IsEnd);
        Assert.Equal(expected.HasValue, actual.HasValue);
        Assert.True(expected.Payload.Span.SequenceEqual(actual.Payload.Span));
    }

    public static int[] Sequences(IReadOnlyList<RpcReply> replies)
    {
        var sequences = new int[replies.Count];
        for (var i = 0; i < sequences.Length; i++)
        {
            sequences[i] = replies[i].Sequence;
        }

        return sequences;
    }
}
