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
