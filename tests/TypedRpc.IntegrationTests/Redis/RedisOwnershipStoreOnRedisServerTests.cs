using Xunit;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>The <see cref="RedisOwnershipStoreTests"/> on redis-server (or <c>TYPEDRPC_REDIS</c>).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisOwnershipStoreOnRedisServerTests(RedisServerFixture redis) : RedisOwnershipStoreTests(redis);
