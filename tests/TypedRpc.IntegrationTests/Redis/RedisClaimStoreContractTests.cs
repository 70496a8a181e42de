using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Tests.Shared;
using Xunit;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>The <see cref="ClaimStoreContract"/> on a Redis-protocol server.</summary>
public abstract class RedisClaimStoreContractTests : ClaimStoreContract
{
    private readonly IRedisTestServer _redis;

    private protected RedisClaimStoreContractTests(IRedisTestServer redis) => _redis = redis;

    protected override IRpcClaimStore CreateStore() => _redis.CreateStore();

    protected override Task ElapseAsync(System.TimeSpan time) => Task.Delay(time);

    protected override IRpcClaimStore CreateUnconnectedStore() => RedisStoreContracts.Unconnected();

    protected override Task<int> CountAsync(IRpcClaimStore store) => RedisStoreContracts.CountAsync(_redis, store);
}

/// <summary>The <see cref="ClaimStoreContract"/> on redis-server (or <c>TYPEDRPC_REDIS</c>).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisClaimStoreContractOnRedisServerTests(RedisServerFixture redis) : RedisClaimStoreContractTests(redis);

/// <summary>The <see cref="ClaimStoreContract"/> on Garnet in this process.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisClaimStoreContractOnGarnetTests(GarnetFixture garnet) : RedisClaimStoreContractTests(garnet), IClassFixture<GarnetFixture>;
