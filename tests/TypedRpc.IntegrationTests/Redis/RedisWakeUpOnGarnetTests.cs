using Xunit;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>
/// The <see cref="RedisWakeUpTests"/> on Garnet in this process (<see cref="TypedRpc.DevServices.EmbeddedRedis"/>),
/// the quickstart's default Redis: the demo relies on the store behaving there as on redis-server.
/// </summary>
// In the infrastructure collection so that its timings see no other test's load.
[Collection(RedisCollection.Name)]
public sealed class RedisWakeUpOnGarnetTests(GarnetFixture garnet) : RedisWakeUpTests(garnet), IClassFixture<GarnetFixture>;
