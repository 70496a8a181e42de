using System;
using System.Threading.Tasks;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Tests.Shared.StoreTestData;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>
/// What only the Redis store does with owner records, replies and claims (the rest is the store
/// contracts), against a real Redis (<see cref="RedisOwnershipStoreOnRedisServerTests"/>) and against
/// the demo's embedded Garnet (<see cref="RedisOwnershipStoreOnGarnetTests"/>).
/// </summary>
public abstract class RedisOwnershipStoreTests
{
    private readonly IRedisTestServer redis;

    private protected RedisOwnershipStoreTests(IRedisTestServer redis) => this.redis = redis;

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
}
