using System;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Tests.Shared.StoreTestData;

namespace TypedRpc.Tests.Shared;

/// <summary>
/// What every <see cref="IRpcOwnershipStore"/> must do with owner records and stored replies,
/// written once and run against each store (in memory, redis-server and Garnet).
/// </summary>
/// <typeparam name="TStore">The store under test.</typeparam>
/// <param name="kind">The kind of store the contract runs on.</param>
public abstract class OwnershipStoreContract<TStore>(StoreKind<TStore> kind) : StoreContract<TStore>(kind) where TStore : class, IRpcOwnershipStore, IRpcClaimStore
{
    [Fact]
    public async Task Owner_IsRegisteredReplacedAndReleasedOnlyByItsInstance()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        Assert.Null(await store.GetOwnerAsync(id, default));

        await store.RegisterOwnerAsync(id, Owner("a"), Ttl, default);
        Assert.Equal(Owner("a"), await store.GetOwnerAsync(id, default));

        await store.RegisterOwnerAsync(id, Owner("b", partition: -1), Ttl, default);
        Assert.Equal(Owner("b", partition: -1), await store.GetOwnerAsync(id, default));

        // Only the owner releases: not a former owner, nor an instance whose id is a prefix of the owner's.
        await store.ReleaseOwnerAsync(id, "a", default);
        Assert.Equal(Owner("b", partition: -1), await store.GetOwnerAsync(id, default));
        await store.RegisterOwnerAsync(id, Owner("ab"), Ttl, default);
        await store.ReleaseOwnerAsync(id, "a", default);
        Assert.Equal(Owner("ab"), await store.GetOwnerAsync(id, default));

        await store.ReleaseOwnerAsync(id, "ab", default);
        Assert.Null(await store.GetOwnerAsync(id, default));
        Assert.Equal(0, await CountAsync(store));
    }

    [Fact]
    public async Task Owner_WithUnicodeIdsAndAnEmptyAddress_RoundTrips()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        var owner = new RpcOwner("实例-ü-1", default);
        await store.RegisterOwnerAsync(id, owner, Ttl, default);
        Assert.Equal(owner, await store.GetOwnerAsync(id, default));

        var other = new RpcOwner("x", new RpcReplyAddress("tópico", 0));
        await store.RegisterOwnerAsync(id, other, Ttl, default);
        Assert.Equal(other, await store.GetOwnerAsync(id, default));
    }

    [Fact]
    public async Task AnOwnerRecordKeepsItsFingerprint()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        var owner = new RpcOwner("a", new RpcReplyAddress("r", 2)) { Fingerprint = "0123456789abcdef0123456789abcdef" };
        await store.RegisterOwnerAsync(id, owner, TimeSpan.FromMinutes(1), default);
        Assert.Equal(owner, await store.GetOwnerAsync(id, default));
        Assert.Equal(owner.Fingerprint, (await store.GetOwnerAsync(id, default))!.Fingerprint);
    }

    [Fact]
    public async Task Replies_AreKeptInSequenceOrder_AndARepeatedSequenceIsIgnored()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        Assert.Empty(await store.GetRepliesAsync(id, default));

        var buffer = new byte[] { 20 };
        await store.StoreReplyAsync(Reply(id, 2, buffer), Ttl, null, default);
        buffer[0] = 99; // the caller reuses its buffer
        await store.StoreReplyAsync(Reply(id, 0, [0]), Ttl, null, default);
        await store.StoreReplyAsync(Reply(id, 10, [100]), Ttl, null, default);
        await store.StoreReplyAsync(Reply(id, 1, [10]), Ttl, null, default);
        await store.StoreReplyAsync(Reply(id, 0, [1]), Ttl, null, default);
        await store.StoreReplyAsync(Reply(id, 2, [21], isEnd: true), Ttl, null, default);

        var replies = await store.GetRepliesAsync(id, default);
        Assert.Equal([0, 1, 2, 10], Sequences(replies));
        Assert.Equal(new byte[] { 0, 10, 20, 100 }, new[] { replies[0].Payload.Span[0], replies[1].Payload.Span[0], replies[2].Payload.Span[0], replies[3].Payload.Span[0] });
        Assert.False(replies[2].IsEnd);
        Assert.Empty(await store.GetRepliesAsync(CorrelationId.NewId(), default));
    }

    [Fact]
    public async Task Replies_KeepEveryField()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        var large = new byte[200_000];
        Random.Shared.NextBytes(large);
        var sent = new[]
        {
            Reply(id, 0, large),
            Reply(id, 1, [], detail: ""),
            new RpcReply { Id = id, Sequence = 2, IsEnd = true, Status = RpcStatusCode.Internal, Detail = "boom – ü 🚀" },
        };
        foreach (var reply in sent)
        {
            await store.StoreReplyAsync(reply, Ttl, null, default);
        }

        var stored = await store.GetRepliesAsync(id, default);
        Assert.Equal(sent.Length, stored.Count);
        for (var i = 0; i < sent.Length; i++)
        {
            AssertSameReply(sent[i], stored[i]);
        }
    }

    [Fact]
    public async Task OwnersAndReplies_ExpireAfterTheirTimeToLive()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();

        // Long enough that a stalled test machine cannot expire the owner before it is counted;
        // the replies outlive it by as much again.
        var ownerTtl = TimeSpan.FromMilliseconds(1_500);
        await store.RegisterOwnerAsync(id, Owner("a"), ownerTtl, default);
        await store.StoreReplyAsync(Reply(id, 0), ownerTtl * 2, null, default);
        Assert.Equal(2, await CountAsync(store));

        await ElapseAsync(ownerTtl + ExpiryMargin);
        Assert.Null(await store.GetOwnerAsync(id, default));
        Assert.Single(await store.GetRepliesAsync(id, default));
        Assert.Equal(1, await CountAsync(store));

        await ElapseAsync(ownerTtl);
        Assert.Empty(await store.GetRepliesAsync(id, default));
        Assert.Equal(0, await CountAsync(store));
    }

    [Fact]
    public async Task StoringAReply_RenewsTheCallsTimeToLive()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        // 1.2 s + 1.2 s outlives the first 2 s time to live only if the second reply renewed it; each
        // step leaves 800 ms of slack for a stalled test machine.
        await store.StoreReplyAsync(Reply(id, 0), TimeSpan.FromSeconds(2), null, default);
        await ElapseAsync(TimeSpan.FromMilliseconds(1_200));
        await store.StoreReplyAsync(Reply(id, 1), TimeSpan.FromSeconds(2), null, default);
        await ElapseAsync(TimeSpan.FromMilliseconds(1_200));

        Assert.Equal(2, (await store.GetRepliesAsync(id, default)).Count);
    }

    /// <summary>A stored DeadlineExceeded end gives way to a later message at its sequence; any other stored message does not.</summary>
    [Fact]
    public async Task ProvisionalDeadlineExceeded_IsReplacedByTheRealResult()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        await store.StoreReplyAsync(RpcReply.Error(id, new RpcStatus(RpcStatusCode.DeadlineExceeded, "late")), Ttl, null, default);
        await store.StoreReplyAsync(RpcReply.Error(id, new RpcStatus(RpcStatusCode.DeadlineExceeded, "again")), Ttl, null, default);
        Assert.Equal("late", Assert.Single(await store.GetRepliesAsync(id, default)).Detail);

        var real = new RpcReply { Id = id, Status = RpcStatusCode.OK, IsEnd = true, HasValue = true, Payload = "\"done\""u8.ToArray() };
        await store.StoreReplyAsync(real, Ttl, null, default);
        var stored = Assert.Single(await store.GetRepliesAsync(id, default));
        Assert.Equal(RpcStatusCode.OK, stored.Status);
        Assert.Equal("\"done\"", System.Text.Encoding.UTF8.GetString(stored.Payload.Span));

        // The real result stays: neither another result nor a DeadlineExceeded replaces it.
        await store.StoreReplyAsync(RpcReply.Error(id, new RpcStatus(RpcStatusCode.DeadlineExceeded, "late")), Ttl, null, default);
        await store.StoreReplyAsync(RpcReply.Error(id, new RpcStatus(RpcStatusCode.Internal, "other")), Ttl, null, default);
        Assert.Equal(RpcStatusCode.OK, Assert.Single(await store.GetRepliesAsync(id, default)).Status);
    }

    [Fact]
    public async Task CancelledToken_SendsNothing()
    {
        var store = NewStore();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.RegisterOwnerAsync(CorrelationId.NewId(), Owner("a"), Ttl, Cancelled).AsTask());
        Assert.Equal(0, await CountAsync(store));
    }

    /// <summary>Bad arguments throw at once (not in the returned task), and nothing is written.</summary>
    [Fact]
    public async Task InvalidArguments_AreRefusedBeforeAnythingIsSent()
    {
        var store = NewStore(unconnected: true);
        var id = CorrelationId.NewId();

        Assert.Throws<ArgumentException>(() => { _ = store.GetOwnerAsync(default, default); });
        Assert.Throws<ArgumentNullException>(() => { _ = store.RegisterOwnerAsync(id, null!, Ttl, default); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = store.RegisterOwnerAsync(id, Owner("a"), TimeSpan.Zero, default); });
        Assert.Throws<ArgumentNullException>(() => { _ = store.ReleaseOwnerAsync(id, null!, default); });
        Assert.Throws<ArgumentNullException>(() => { _ = store.StoreReplyAsync(null!, Ttl, null, default); });
        Assert.Throws<ArgumentException>(() => { _ = store.StoreReplyAsync(Reply(default, 0), Ttl, null, default); });
        Assert.Throws<ArgumentException>(() => { _ = store.StoreReplyAsync(Reply(id, 0), Ttl, "", default); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = store.StoreReplyAsync(Reply(id, 0), TimeSpan.FromTicks(-1), null, default); });
        Assert.Throws<ArgumentException>(() => { _ = store.NotifyAsync("", id, default); });
        Assert.Throws<ArgumentNullException>(() => { _ = store.SubscribeWakeUpsAsync("a", null!, default); });
        Assert.Equal(0, await CountAsync(store));
    }
}
