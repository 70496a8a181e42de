using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Redis;
using TypedRpc.Tests.Shared;
using Xunit;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>The <see cref="OwnershipStoreContract"/> on a Redis-protocol server.</summary>
public abstract class RedisOwnershipStoreContractTests : OwnershipStoreContract
{
    private readonly IRedisTestServer _redis;

    private protected RedisOwnershipStoreContractTests(IRedisTestServer redis) => _redis = redis;

    protected override IRpcOwnershipStore CreateStore() => _redis.CreateStore();

    protected override Task ElapseAsync(System.TimeSpan time) => Task.Delay(time);

    protected override IRpcOwnershipStore CreateUnconnectedStore() => RedisStoreContracts.Unconnected();

    protected override Task<int> CountAsync(IRpcOwnershipStore store) => RedisStoreContracts.CountAsync(_redis, store);
}

/// <summary>The <see cref="OwnershipStoreContract"/> on redis-server (or <c>TYPEDRPC_REDIS</c>).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisOwnershipStoreContractOnRedisServerTests(RedisServerFixture redis) : RedisOwnershipStoreContractTests(redis);

/// <summary>The <see cref="OwnershipStoreContract"/> on Garnet in this process.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisOwnershipStoreContractOnGarnetTests(GarnetFixture garnet) : RedisOwnershipStoreContractTests(garnet), IClassFixture<GarnetFixture>;
