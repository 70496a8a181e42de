using Xunit;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>The <see cref="RedisWakeUpTests"/> on redis-server (or <c>TYPEDRPC_REDIS</c>).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisWakeUpOnRedisServerTests(RedisServerFixture redis) : RedisWakeUpTests(redis);
