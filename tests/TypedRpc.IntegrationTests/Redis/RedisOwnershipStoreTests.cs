using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.IntegrationTests.Support;
using TypedRpc.Ownership;
using TypedRpc.Redis;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.IntegrationTests.Support.TestData;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>
/// The semantics of owner records, stored replies and claims, against a real Redis
/// (<see cref="RedisOwnershipStoreOnRedisServerTests"/>) and against the demo's embedded Garnet
/// (<see cref="RedisOwnershipStoreOnGarnetTests"/>).
/// </summary>
public abstract class RedisOwnershipStoreTests
{

    private readonly IRedisTestServer redis;

    private protected RedisOwnershipStoreTests(IRedisTestServer redis) => this.redis = redis;

    [Fact]
    public async Task Owner_WithUnicodeIdsAndAnEmptyAddress_RoundTrips()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();
        var owner = new RpcOwner("实例-ü-1", default);
        await store.RegisterOwnerAsync(id, owner, Ttl, default);
        Assert.Equal(owner, await store.GetOwnerAsync(id, default));

        var other = new RpcOwner("x", new RpcReplyAddress("tópico", 0));
        await store.RegisterOwnerAsync(id, other, Ttl, default);
        Assert.Equal(other, await store.GetOwnerAsync(id, default));
    }

    [Fact]
    public async Task Entries_ExpireAfterTheirTimeToLive()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();
        // Long enough that a stalled test machine cannot expire the first entry before the scan.
        var shortTtl = TimeSpan.FromMilliseconds(1_500);
        await store.RegisterOwnerAsync(id, Owner("a"), shortTtl, default);
        await store.StoreReplyAsync(Reply(id, 0), shortTtl, null, default);
        await store.TryClaimAsync(id, "server", shortTtl, default);
        Assert.Equal(3, (await redis.Admin.ScanAsync(store.Namespace + ":*")).Count);

        await Task.Delay(shortTtl + TimeSpan.FromMilliseconds(300));
        Assert.Null(await store.GetOwnerAsync(id, default));
        Assert.Empty(await store.GetRepliesAsync(id, default));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "other", Ttl, default)).State);
    }

    [Fact]
    public async Task Replies_KeepEveryField()
    {
        await using var store = redis.CreateStore();
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
    public async Task OfAThousandConcurrentClaimsFromTwoProcesses_ExactlyOneIsClaimed()
    {
        // Two stores are two multiplexers: as two server instances would be.
        await using var first = redis.CreateStore();
        await using var second = redis.CreateStore(first.Namespace);
        var id = CorrelationId.NewId();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var claims = new Task<RpcClaim>[1000];
        for (var i = 0; i < claims.Length; i++)
        {
            var store = i % 2 == 0 ? first : second;
            var instance = "server-" + i;
            claims[i] = Task.Run(async () =>
            {
                await start.Task;
                return await store.TryClaimAsync(id, instance, Ttl, default);
            });
        }

        start.SetResult();
        var results = await Task.WhenAll(claims);

        RpcClaim? winner = null;
        foreach (var result in results)
        {
            if (result.State == RpcClaimState.Claimed)
            {
                Assert.Null(winner);
                winner = result;
            }
        }

        Assert.NotNull(winner);
        foreach (var result in results)
        {
            if (!ReferenceEquals(result, winner))
            {
                Assert.Equal(RpcClaimState.Running, result.State);
                Assert.Equal(winner.Holder, result.Holder);
            }
        }
    }

    [Fact]
    public async Task CompletingWithoutAClaim_StillServesLaterDeliveries()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();

        await store.CompleteClaimAsync(id, "a", [], Ttl, default);
        var empty = await store.TryClaimAsync(id, "b", Ttl, default);
        Assert.Equal(RpcClaimState.Completed, empty.State);
        Assert.Equal("a", empty.Holder);
        Assert.Empty(empty.Replies);

        var late = CorrelationId.NewId();
        await store.CompleteClaimAsync(late, "a", [Reply(late, 0, [1], isEnd: true)], Ttl, default);
        Assert.Single((await store.TryClaimAsync(late, "c", Ttl, default)).Replies);
    }

    [Fact]
    public async Task ExpiredClaims_CanBeClaimedAgain_RunningOrCompleted()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();
        // Long enough that a stalled test machine cannot expire it before the check that it is held.
        var shortTtl = TimeSpan.FromSeconds(1);
        await store.TryClaimAsync(id, "dead", shortTtl, default);
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "b", Ttl, default)).State);

        await Task.Delay(shortTtl + TimeSpan.FromMilliseconds(300));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "b", Ttl, default)).State);

        await store.CompleteClaimAsync(id, "b", [Reply(id, 0, isEnd: true)], shortTtl, default);
        Assert.Equal(RpcClaimState.Completed, (await store.TryClaimAsync(id, "c", Ttl, default)).State);

        await Task.Delay(shortTtl + TimeSpan.FromMilliseconds(300));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "c", Ttl, default)).State);
    }

    [Fact]
    public async Task CancelledToken_SendsNothing()
    {
        await using var store = redis.CreateStore();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var id = CorrelationId.NewId();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.TryClaimAsync(id, "a", Ttl, cancelled.Token).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.RegisterOwnerAsync(id, Owner("a"), Ttl, cancelled.Token).AsTask());
        Assert.Empty(await redis.Admin.ScanAsync(store.Namespace + ":*"));
    }

    [Fact]
    public async Task DisposedStore_RefusesOperations()
    {
        var store = redis.CreateStore();
        var id = CorrelationId.NewId();
        await store.RegisterOwnerAsync(id, Owner("a"), Ttl, default);
        var subscription = await store.SubscribeWakeUpsAsync("a", _ => default, default);
        await store.DisposeAsync();
        await store.DisposeAsync();

        // A subscription outliving its store still disposes quietly.
        await subscription.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetOwnerAsync(id, default).AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.SubscribeWakeUpsAsync("a", _ => default, default).AsTask());
    }

    internal static void AssertSameReply(RpcReply expected, RpcReply actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Sequence, actual.Sequence);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.Detail, actual.Detail);
        Assert.Equal(expected.IsEnd, actual.IsEnd);
        Assert.Equal(expected.HasValue, actual.HasValue);
        Assert.True(expected.Payload.Span.SequenceEqual(actual.Payload.Span));
    }

}
