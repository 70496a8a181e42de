using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Tests.InMemory.InMemoryTestData;

namespace TypedRpc.Tests.InMemory;

public sealed class InMemoryOwnershipStoreTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(1);

    private static RpcOwner Owner(string instanceId) => new(instanceId, new RpcReplyAddress("replies." + instanceId));

    [Fact]
    public async Task Entries_ExpireAfterTheirTimeToLive()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryOwnershipStore(clock);
        var id = CorrelationId.NewId();
        await store.RegisterOwnerAsync(id, Owner("a"), TimeSpan.FromSeconds(10), default);
        await store.StoreReplyAsync(Reply(id, 0), TimeSpan.FromSeconds(20), null, default);
        await store.TryClaimAsync(id, "server", TimeSpan.FromSeconds(30), default);
        Assert.Equal(3, store.Count);

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Null(await store.GetOwnerAsync(id, default));
        Assert.Single(await store.GetRepliesAsync(id, default));
        Assert.Equal(2, store.Count);

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(await store.GetRepliesAsync(id, default));
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "other", Ttl, default)).State);
        Assert.Equal(1, store.Count);

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task StoringAReply_RenewsTheCallsTimeToLive()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryOwnershipStore(clock);
        var id = CorrelationId.NewId();
        await store.StoreReplyAsync(Reply(id, 0), TimeSpan.FromSeconds(10), null, default);
        clock.Advance(TimeSpan.FromSeconds(8));
        await store.StoreReplyAsync(Reply(id, 1), TimeSpan.FromSeconds(10), null, default);
        clock.Advance(TimeSpan.FromSeconds(8));

        Assert.Equal(2, (await store.GetRepliesAsync(id, default)).Count);
    }

    [Fact]
    public async Task ExpiredEntries_AreSweptWithoutBeingTouched()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryOwnershipStore(clock);
        for (var i = 0; i < 1000; i++)
        {
            await store.RegisterOwnerAsync(CorrelationId.NewId(), Owner("a"), TimeSpan.FromSeconds(1), default);
        }

        clock.Advance(TimeSpan.FromSeconds(2));
        for (var i = 0; i < 1100; i++)
        {
            await store.RegisterOwnerAsync(CorrelationId.NewId(), Owner("a"), Ttl, default);
        }

        // Read the raw size before Count (which sweeps too): the writes alone removed the 1,000 expired ones.
        Assert.Equal(1100, store.StoredEntryCount);
        Assert.Equal(1100, store.Count);
    }

    [Fact]
    public async Task OfAThousandConcurrentClaims_ExactlyOneIsClaimed()
    {
        var store = new InMemoryOwnershipStore();
        var id = CorrelationId.NewId();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var claims = new Task<RpcClaim>[1000];
        for (var i = 0; i < claims.Length; i++)
        {
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
    public async Task ClaimRenewal_ExtendsOnlyItsHoldersRunningClaim()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryOwnershipStore(clock);
        var id = CorrelationId.NewId();
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "a", TimeSpan.FromMilliseconds(600), default)).State);
        for (var i = 0; i < 3; i++)
        {
            // Renewed before it would expire, the claim outlives its first time to live.
            clock.Advance(TimeSpan.FromMilliseconds(300));
            Assert.True(await store.RenewClaimAsync(id, "a", TimeSpan.FromMilliseconds(600), default));
            Assert.False(await store.RenewClaimAsync(id, "b", TimeSpan.FromMilliseconds(600), default));
            Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "b", Ttl, default)).State);
        }

        // Not renewed (its holder died): it expires and another holder takes it; the old one cannot renew it.
        clock.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "b", Ttl, default)).State);
        Assert.False(await store.RenewClaimAsync(id, "a", Ttl, default));

        // A completed claim is not renewed: it lives for its result's time to live.
        Assert.True(await store.CompleteClaimAsync(id, "b", [Reply(id, 0, isEnd: true)], Ttl, default));
        Assert.False(await store.RenewClaimAsync(id, "b", Ttl, default));
    }

    [Fact]
    public async Task ClaimRenewal_TakesAGoneClaimAgain_ButNotOneAnotherHolderTookOrCompleted()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryOwnershipStore(clock);
        var id = CorrelationId.NewId();
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "a", TimeSpan.FromMilliseconds(600), default)).State);

        // Its renewals failed until it expired, and nobody took it: the next renewal takes it again.
        clock.Advance(TimeSpan.FromMilliseconds(900));
        Assert.True(await store.RenewClaimAsync(id, "a", TimeSpan.FromMilliseconds(600), default));
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "b", Ttl, default)).State);

        // Once another holder took it after it expired, the old holder's renewal fails.
        clock.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "b", Ttl, default)).State);
        Assert.False(await store.RenewClaimAsync(id, "a", Ttl, default));
    }

    [Fact]
    public async Task CompletingAClaimAnotherHolderTookOver_LeavesItToThatHolder()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryOwnershipStore(clock);
        var id = CorrelationId.NewId();
        await store.TryClaimAsync(id, "stale", TimeSpan.FromMilliseconds(200), default);
        clock.Advance(TimeSpan.FromMilliseconds(400));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "new", Ttl, default)).State);

        // The stale holder (paused past its claim's expiry) finishes: it must not overwrite the new holder's claim.
        Assert.False(await store.CompleteClaimAsync(id, "stale", [Reply(id, 0, [1], isEnd: true)], Ttl, default));
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "third", Ttl, default)).State);

        Assert.True(await store.CompleteClaimAsync(id, "new", [Reply(id, 0, [2], isEnd: true)], Ttl, default));
        var done = await store.TryClaimAsync(id, "third", Ttl, default);
        Assert.Equal(RpcClaimState.Completed, done.State);
        Assert.Equal("new", done.Holder);
        Assert.Equal(2, done.Replies[0].Payload.Span[0]);

        // Once completed, the first result stands.
        Assert.False(await store.CompleteClaimAsync(id, "stale", [Reply(id, 0, [3], isEnd: true)], Ttl, default));
        Assert.Equal(2, (await store.TryClaimAsync(id, "third", Ttl, default)).Replies[0].Payload.Span[0]);
    }

    [Fact]
    public async Task ExpiredClaims_CanBeClaimedAgain_RunningOrCompleted()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryOwnershipStore(clock);
        var id = CorrelationId.NewId();
        await store.TryClaimAsync(id, "dead", TimeSpan.FromSeconds(5), default);

        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "b", Ttl, default)).State);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "b", Ttl, default)).State);

        await store.CompleteClaimAsync(id, "b", [Reply(id, 0, isEnd: true)], TimeSpan.FromSeconds(5), default);
        Assert.Equal(RpcClaimState.Completed, (await store.TryClaimAsync(id, "c", Ttl, default)).State);

        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "c", Ttl, default)).State);
    }

    [Fact]
    public async Task WhileUnavailable_EveryOperationThrows()
    {
        var store = new InMemoryOwnershipStore { Faults = { Unavailable = true } };
        var id = CorrelationId.NewId();
        var operations = new Func<Task>[]
        {
            () => store.RegisterOwnerAsync(id, Owner("a"), Ttl, default).AsTask(),
            () => store.GetOwnerAsync(id, default).AsTask(),
            () => store.ReleaseOwnerAsync(id, "a", default).AsTask(),
            () => store.StoreReplyAsync(Reply(id, 0), Ttl, "a", default).AsTask(),
            () => store.GetRepliesAsync(id, default).AsTask(),
            () => store.TryClaimAsync(id, "a", Ttl, default).AsTask(),
            () => store.CompleteClaimAsync(id, "a", [], Ttl, default).AsTask(),
            () => store.ReleaseClaimAsync(id, "a", default).AsTask(),
            () => store.NotifyAsync("a", id, default).AsTask(),
            () => store.SubscribeWakeUpsAsync("a", _ => default, default).AsTask(),
        };

        foreach (var operation in operations)
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(operation);
            Assert.Equal("The in-memory ownership store is unavailable.", error.Message);
        }

        Assert.Equal(0, store.Count);
        store.Faults.Unavailable = false;
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "a", Ttl, default)).State);
    }

    [Fact]
    public async Task OperationDelay_SlowsEveryOperation_AndHonoursCancellation()
    {
        var store = new InMemoryOwnershipStore { Faults = { OperationDelay = TimeSpan.FromMilliseconds(40) } };
        var id = CorrelationId.NewId();

        var slow = store.TryClaimAsync(id, "a", Ttl, default).AsTask();
        Assert.False(slow.IsCompleted);
        Assert.Equal(RpcClaimState.Claimed, (await slow.WaitAsync(WaitLimit)).State);

        store.Faults.OperationDelay = TimeSpan.FromMinutes(10);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.GetOwnerAsync(id, cancellation.Token).AsTask().WaitAsync(WaitLimit));

        store.Faults.OperationDelay = null;
        Assert.True(store.GetRepliesAsync(id, default).IsCompletedSuccessfully);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Faults.OperationDelay = TimeSpan.FromSeconds(-1));
    }
}
