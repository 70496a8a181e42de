using System;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Tests.Shared.StoreTestData;
using static TypedRpc.Tests.Shared.Waits;

namespace TypedRpc.Tests.InMemory;

/// <summary>What only the in-memory store does: sweeping expired entries, and the faults tests ask of it.</summary>
public sealed class InMemoryOwnershipStoreTests
{
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
