using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.InMemory;
using Xunit;

namespace TypedRpc.Tests.InMemory;

public sealed class InMemoryLeaseTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public async Task ALease_IsHeldByOneInstanceUntilReleasedOrExpired()
    {
        var store = new InMemoryOwnershipStore(_time);

        Assert.True(await store.TryAcquireLeaseAsync("g", 3, "a", Ttl, CancellationToken.None));
        Assert.False(await store.TryAcquireLeaseAsync("g", 3, "b", Ttl, CancellationToken.None));
        Assert.True(await store.TryAcquireLeaseAsync("g", 3, "a", Ttl, CancellationToken.None));
        Assert.True(await store.TryAcquireLeaseAsync("other-group", 3, "b", Ttl, CancellationToken.None));
        Assert.Equal("a", await store.GetLeaseHolderAsync("g", 3, CancellationToken.None));

        await store.ReleaseLeaseAsync("g", 3, "b", CancellationToken.None);
        Assert.Equal("a", await store.GetLeaseHolderAsync("g", 3, CancellationToken.None));
        await store.ReleaseLeaseAsync("g", 3, "a", CancellationToken.None);
        Assert.Null(await store.GetLeaseHolderAsync("g", 3, CancellationToken.None));
        Assert.True(await store.TryAcquireLeaseAsync("g", 3, "b", Ttl, CancellationToken.None));
    }

    [Fact]
    public async Task Renewal_KeepsALease_AndFailsOnceItIsLost()
    {
        var store = new InMemoryOwnershipStore(_time);
        await store.TryAcquireLeaseAsync("g", 0, "a", Ttl, CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(8));
        Assert.True(await store.RenewLeaseAsync("g", 0, "a", Ttl, CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(8));
        Assert.Equal("a", await store.GetLeaseHolderAsync("g", 0, CancellationToken.None));

        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Null(await store.GetLeaseHolderAsync("g", 0, CancellationToken.None));
        Assert.True(await store.TryAcquireLeaseAsync("g", 0, "b", Ttl, CancellationToken.None));
        Assert.False(await store.RenewLeaseAsync("g", 0, "a", Ttl, CancellationToken.None));
        Assert.False(await store.RenewLeaseAsync("g", 1, "a", Ttl, CancellationToken.None));
    }

    [Fact]
    public async Task ConcurrentAcquires_GiveThePartitionToExactlyOne()
    {
        var store = new InMemoryOwnershipStore(_time);
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            Task.Run(async () => await store.TryAcquireLeaseAsync("g", 7, "i" + i, Ttl, CancellationToken.None))));

        Assert.Single(results, r => r);
    }

    [Fact]
    public async Task BadArguments_AreRefused()
    {
        var store = new InMemoryOwnershipStore(_time);
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAcquireLeaseAsync("", 0, "a", Ttl, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.TryAcquireLeaseAsync("g", -1, "a", Ttl, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.TryAcquireLeaseAsync("g", 0, "a", TimeSpan.Zero, CancellationToken.None));
    }
}
