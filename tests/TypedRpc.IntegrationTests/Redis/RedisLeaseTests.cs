using System;
using System.Threading.Tasks;
using TypedRpc.Redis;
using Xunit;
using static TypedRpc.Tests.Shared.StoreTestData;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>Reply-partition leases against a real Redis.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisLeaseTests(RedisServerFixture redis)
{
    [Fact]
    public async Task Lease_IsTakenByOne_RenewedByItsHolder_AndReleasedOnlyByItsHolder()
    {
        await using var store = redis.CreateStore();
        Assert.Null(await store.Leases.GetHolderAsync("clients", 0, default));

        Assert.True(await store.Leases.TryAcquireAsync("clients", 0, "a", Ttl, default));
        Assert.False(await store.Leases.TryAcquireAsync("clients", 0, "b", Ttl, default));
        Assert.True(await store.Leases.TryAcquireAsync("clients", 0, "a", Ttl, default));
        Assert.Equal("a", await store.Leases.GetHolderAsync("clients", 0, default));

        // Partitions and groups are independent.
        Assert.True(await store.Leases.TryAcquireAsync("clients", 1, "b", Ttl, default));
        Assert.True(await store.Leases.TryAcquireAsync("others", 0, "b", Ttl, default));

        Assert.True(await store.Leases.RenewAsync("clients", 0, "a", Ttl, default));
        Assert.False(await store.Leases.RenewAsync("clients", 0, "b", Ttl, default));

        await store.Leases.ReleaseAsync("clients", 0, "b", default);
        Assert.Equal("a", await store.Leases.GetHolderAsync("clients", 0, default));
        await store.Leases.ReleaseAsync("clients", 0, "a", default);
        Assert.Null(await store.Leases.GetHolderAsync("clients", 0, default));
        Assert.False(await store.Leases.RenewAsync("clients", 0, "a", Ttl, default));

        Assert.True(await store.Leases.TryAcquireAsync("clients", 0, "b", Ttl, default));
        Assert.Equal("b", await store.Leases.GetHolderAsync("clients", 0, default));
    }

    [Fact]
    public async Task ExpiredLease_IsFree_AndItsFormerHolderCannotRenewIt()
    {
        await using var store = redis.CreateStore();
        Assert.True(await store.Leases.TryAcquireAsync("clients", 7, "dead", TimeSpan.FromMilliseconds(1_500), default));

        // Renewal extends the lease past its first expiry (0.5 s + 1.1 s > 1.5 s); the renewal's 3 s
        // leave a stalled test machine almost two seconds (2 s once ran out in a full suite).
        await Task.Delay(500);
        Assert.True(await store.Leases.RenewAsync("clients", 7, "dead", TimeSpan.FromSeconds(3), default));
        await Task.Delay(1_100);
        Assert.Equal("dead", await store.Leases.GetHolderAsync("clients", 7, default));

        // Its holder's last renewal was a short one: it expires (a slow machine only makes it more expired).
        Assert.True(await store.Leases.RenewAsync("clients", 7, "dead", TimeSpan.FromMilliseconds(100), default));
        await Task.Delay(400);
        Assert.Null(await store.Leases.GetHolderAsync("clients", 7, default));
        Assert.False(await store.Leases.RenewAsync("clients", 7, "dead", Ttl, default));

        Assert.True(await store.Leases.TryAcquireAsync("clients", 7, "live", Ttl, default));
        Assert.False(await store.Leases.RenewAsync("clients", 7, "dead", Ttl, default));
        Assert.Equal("live", await store.Leases.GetHolderAsync("clients", 7, default));
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
            attempts[i] = store.Leases.TryAcquireAsync("clients", 3, "instance-" + i, Ttl, default).AsTask();
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
        Assert.Equal(holder, await first.Leases.GetHolderAsync("clients", 3, default));
    }

    [Fact]
    public void InvalidArguments_AreRefusedBeforeAnythingIsSent()
    {
        // Never connects: every check runs before the first Redis call.
        var store = new RedisOwnershipStore(new RedisOwnershipStoreOptions { Configuration = "127.0.0.1:1" });

        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = store.Leases.TryAcquireAsync("g", -1, "a", Ttl, default); });
        Assert.Throws<ArgumentException>(() => { _ = store.Leases.RenewAsync("", 0, "a", Ttl, default); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = store.Leases.RenewAsync("g", 0, "a", TimeSpan.Zero, default); });
        Assert.Throws<ArgumentException>(() => { _ = store.Leases.ReleaseAsync("g", 0, "", default); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = store.Leases.GetHolderAsync("g", -2, default); });
    }
}
