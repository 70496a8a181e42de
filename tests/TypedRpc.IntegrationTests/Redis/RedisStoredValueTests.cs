using System;
using System.IO;
using System.Threading.Tasks;
using TypedRpc.Redis.Codec;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Tests.Shared.StoreTestData;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>The binary values: round trips, and a clear error for anything else found under a store key.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoredValueTests(RedisServerFixture redis)
{
    [Fact]
    public async Task CorruptOwnerRecord_FailsWithAnErrorNamingTheKey()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();
        var key = $"{store.Namespace}:own:{{{id}}}";
        await redis.Admin.ExecuteAsync("SET", key, "garbage", "PX", 60_000);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => store.GetOwnerAsync(id, default).AsTask());
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains("owner record", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CorruptStoredReply_FailsWithAnErrorNamingTheKey()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();
        await store.StoreReplyAsync(Reply(id, 0, [1]), Ttl, null, default);
        var key = $"{store.Namespace}:res:{{{id}}}";

        // A later format version: the reader must refuse it, not misread it.
        var future = RpcReplyCodec.Encode(Reply(id, 1));
        future[0] = 2;
        await redis.Admin.ExecuteAsync("ZADD", key, 1, future);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => store.GetRepliesAsync(id, default).AsTask());
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains("format version 2, expected 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CorruptClaimReplies_FailWithAnErrorNamingTheKey()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();
        await store.CompleteClaimAsync(id, "a", [Reply(id, 0, [1, 2, 3], isEnd: true)], Ttl, default);
        var key = $"{store.Namespace}:claim:{{{id}}}";
        var truncated = RpcReplyCodec.EncodeList([Reply(id, 0, [1, 2, 3], isEnd: true)])[..^2];
        await redis.Admin.ExecuteAsync("HSET", key, "r", truncated);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => store.TryClaimAsync(id, "b", Ttl, default).AsTask());
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Codec_RefusesEveryKindOfDamage()
    {
        var id = CorrelationId.NewId();
        var good = RpcReplyCodec.Encode(Reply(id, 300, [7, 8], detail: "d"));
        AssertSameReply(Reply(id, 300, [7, 8], detail: "d"), RpcReplyCodec.Decode(good, "k", id));

        Assert.Throws<InvalidDataException>(() => RpcReplyCodec.Decode([], "k", id));
        Assert.Throws<InvalidDataException>(() => RpcReplyCodec.Decode(good[..^1], "k", id));
        Assert.Throws<InvalidDataException>(() => RpcReplyCodec.Decode([.. good, 0], "k", id));
        Assert.Throws<InvalidDataException>(() => RpcReplyCodec.Decode(good, "k", CorrelationId.NewId()));

        var badFlags = (byte[])good.Clone();
        badFlags[17] = 0x80;
        Assert.Throws<InvalidDataException>(() => RpcReplyCodec.Decode(badFlags, "k", id));

        var badText = RpcReplyCodec.Encode(Reply(id, 0, detail: "ab"));
        badText[^3] = 0xFF; // inside the detail's UTF-8
        Assert.Contains("UTF-8", Assert.Throws<InvalidDataException>(() => RpcReplyCodec.Decode(badText, "k", id)).Message, StringComparison.Ordinal);

        var hugeCount = new byte[] { RpcReplyCodec.ListVersion, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F };
        Assert.Throws<InvalidDataException>(() => RpcReplyCodec.DecodeList(hugeCount, "k", id));

        var owner = RpcOwnerCodec.Encode(Owner("a"));
        Assert.Equal(Owner("a"), RpcOwnerCodec.Decode(owner, "k"));
        Assert.Throws<InvalidDataException>(() => RpcOwnerCodec.Decode(owner[..^1], "k"));
        Assert.Throws<InvalidDataException>(() => RpcOwnerCodec.Decode([RpcOwnerCodec.Version, 0, 0, 0], "k"));
    }

    [Fact]
    public void Codec_KeepsNegativeAndLargeNumbers()
    {
        var id = CorrelationId.NewId();
        var reply = new RpcReply { Id = id, Sequence = int.MaxValue, Status = (RpcStatusCode)(-1), IsEnd = true };
        AssertSameReply(reply, RpcReplyCodec.Decode(RpcReplyCodec.Encode(reply), "k", id));

        var negative = new RpcReply { Id = id, Sequence = -5 };
        AssertSameReply(negative, RpcReplyCodec.Decode(RpcReplyCodec.Encode(negative), "k", id));

        var list = RpcReplyCodec.DecodeList(RpcReplyCodec.EncodeList([reply, negative]), "k", id);
        Assert.Equal(2, list.Length);
    }
}
