using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.Kafka.Tests;

public sealed class InMemoryReplyPartitionLeaseStoreTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public async Task ALease_IsHeldByOneInstanceUntilReleasedOrExpired()
    {
        var store = new InMemoryReplyPartitionLeaseStore(_time);

        Assert.True(await store.TryAcquireAsync("g", 3, "a", Ttl, CancellationToken.None));
        Assert.False(await store.TryAcquireAsync("g", 3, "b", Ttl, CancellationToken.None));
        Assert.True(await store.TryAcquireAsync("g", 3, "a", Ttl, CancellationToken.None));
        Assert.True(await store.TryAcquireAsync("other-group", 3, "b", Ttl, CancellationToken.None));
        Assert.Equal("a", await store.GetHolderAsync("g", 3, CancellationToken.None));

        await store.ReleaseAsync("g", 3, "b", CancellationToken.None);
        Assert.Equal("a", await store.GetHolderAsync("g", 3, CancellationToken.None));
        await store.ReleaseAsync("g", 3, "a", CancellationToken.None);
        Assert.Null(await store.GetHolderAsync("g", 3, CancellationToken.None));
        Assert.True(await store.TryAcquireAsync("g", 3, "b", Ttl, CancellationToken.None));
    }

    [Fact]
    public async Task Renewal_KeepsALease_AndFailsOnceItIsLost()
    {
        var store = new InMemoryReplyPartitionLeaseStore(_time);
        await store.TryAcquireAsync("g", 0, "a", Ttl, CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(8));
        Assert.True(await store.RenewAsync("g", 0, "a", Ttl, CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(8));
        Assert.Equal("a", await store.GetHolderAsync("g", 0, CancellationToken.None));

        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Null(await store.GetHolderAsync("g", 0, CancellationToken.None));
        Assert.True(await store.TryAcquireAsync("g", 0, "b", Ttl, CancellationToken.None));
        Assert.False(await store.RenewAsync("g", 0, "a", Ttl, CancellationToken.None));
        Assert.False(await store.RenewAsync("g", 1, "a", Ttl, CancellationToken.None));
    }

    [Fact]
    public async Task ConcurrentAcquires_GiveThePartitionToExactlyOne()
    {
        var store = new InMemoryReplyPartitionLeaseStore(_time);
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            Task.Run(async () => await store.TryAcquireAsync("g", 7, "i" + i, Ttl, CancellationToken.None))));

        Assert.Single(results, r => r);
    }

    [Fact]
    public async Task BadArguments_AreRefused()
    {
        var store = new InMemoryReplyPartitionLeaseStore(_time);
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAcquireAsync("", 0, "a", Ttl, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.TryAcquireAsync("g", -1, "a", Ttl, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.TryAcquireAsync("g", 0, "a", TimeSpan.Zero, CancellationToken.None));
    }

    [Fact]
    public async Task TheLeasesBesideAStore_AreOneSet_OnItsClock_AndFailWithIt()
    {
        var store = new TypedRpc.InMemory.InMemoryOwnershipStore(_time);
        var leases = InMemoryReplyPartitionLeaseStore.For(store);
        Assert.Same(leases, InMemoryReplyPartitionLeaseStore.For(store));
        Assert.Same(store.Faults, leases.Faults);

        Assert.True(await leases.TryAcquireAsync("g", 0, "a", Ttl, CancellationToken.None));
        _time.Advance(Ttl);
        Assert.Null(await leases.GetHolderAsync("g", 0, CancellationToken.None));

        store.Faults.Unavailable = true;
        var down = await Assert.ThrowsAsync<InvalidOperationException>(async () => await leases.TryAcquireAsync("g", 0, "a", Ttl, CancellationToken.None));
        Assert.Equal(TypedRpc.InMemory.InMemoryOwnershipStore.UnavailableMessage, down.Message);
    }

    /// <summary>A clock that moves only when a test advances it.</summary>
    private sealed class ManualTimeProvider : TimeProvider
    {
        private long _utcTicks = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;

        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);
    }
}
