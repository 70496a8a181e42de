using System;
using System.Threading.Tasks;
using Xunit;
using static TypedRpc.IntegrationTests.Support.TestData;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>Reply-partition leases against a real Redis.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisLeaseTests(RedisServerFixture redis)
{
    [Fact]
    public async Task Lease_IsTakenByOne_RenewedByItsHolder_AndReleasedOnlyByItsHolder()
    {
        await using var store = redis.CreateStore();
        Assert.Null(await store.GetLeaseHolderAsync("clients", 0, default));

        Assert.True(await store.TryAcquireLeaseAsync("clients", 0, "a", Ttl, default));
        Assert.False(await store.TryAcquireLeaseAsync("clients", 0, "b", Ttl, default));
        Assert.True(await store.TryAcquireLeaseAsync("clients", 0, "a", Ttl, default));
        Assert.Equal("a", await store.GetLeaseHolderAsync("clients", 0, default));

        // Partitions and groups are independent.
        Assert.True(await store.TryAcquireLeaseAsync("clients", 1, "b", Ttl, default));
        Assert.True(await store.TryAcquireLeaseAsync("others", 0, "b", Ttl, default));

        Assert.True(await store.RenewLeaseAsync("clients", 0, "a", Ttl, default));
        Assert.False(await store.RenewLeaseAsync("clients", 0, "b", Ttl, default));

        await store.ReleaseLeaseAsync("clients", 0, "b", default);
        Assert.Equal("a", await store.GetLeaseHolderAsync("clients", 0, default));
        await store.ReleaseLeaseAsync("clients", 0, "a", default);
        Assert.Null(await store.GetLeaseHolderAsync("clients", 0, default));
        Assert.False(await store.RenewLeaseAsync("clients", 0, "a", Ttl, default));

        Assert.True(await store.TryAcquireLeaseAsync("clients", 0, "b", Ttl, default));
        Assert.Equal("b", await store.GetLeaseHolderAsync("clients", 0, default));
    }

    [Fact]
    public async Task ExpiredLease_IsFree_AndItsFormerHolderCannotRenewIt()
    {
        await using var store = redis.CreateStore();
        Assert.True(await store.TryAcquireLeaseAsync("clients", 7, "dead", TimeSpan.FromMilliseconds(1_500), default));

        // Renewal extends the lease past its first expiry (0.5 s + 1.1 s > 1.5 s); every step leaves a
        // stalled test machine most of a second.
        await Task.Delay(500);
        Assert.True(await store.RenewLeaseAsync("clients", 7, "dead", TimeSpan.FromSeconds(2), default));
        await Task.Delay(1_100);
        Assert.Equal("dead", await store.GetLeaseHolderAsync("clients", 7, default));

        // Its holder's last renewal was a short one: it expires (a slow machine only makes it more expired).
        Assert.True(await store.RenewLeaseAsync("clients", 7, "dead", TimeSpan.FromMilliseconds(100), default));
        await Task.Delay(400);
        Assert.Null(await store.GetLeaseHolderAsync("clients", 7, default));
        Assert.False(await store.RenewLeaseAsync("clients", 7, "dead", Ttl, default));

        Assert.True(await store.TryAcquireLeaseAsync("clients", 7, "live", Ttl, default));
        Assert.False(await store.RenewLeaseAsync("clients", 7, "dead", Ttl, default));
        Assert.Equal("live", await store.GetLeaseHolderAsync("clients", 7, default));
    }

    [Fact]
    public async Task OfManyConcurrentAcquirers_ExactlyOneHoldsTheLease()
    {
        await using var first = redis.CreateStore();
        await using var second = redis.CreateStore(first.Namespace);
        var attempts = new Task<bool>[200];
        for (var i = 0; i < attempts.Length; i++)
        {
            var store = i % 2 == 0 ? first : second;
            attempts[i] = store.TryAcquireLeaseAsync("clients", 3, "instance-" + i, Ttl, default).AsTask();
        }

        var results = await Task.WhenAll(attempts);
        var winners = 0;
        string? holder = null;
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i])
            {
                winners++;
                holder = "instance-" + i;
            }
        }

        Assert.Equal(1, winners);
        Assert.Equal(holder, await first.GetLeaseHolderAsync("clients", 3, default));
    }
}
