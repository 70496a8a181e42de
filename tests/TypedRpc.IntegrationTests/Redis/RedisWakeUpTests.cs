using System.Collections.Concurrent;
using System.Threading.Tasks;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.IntegrationTests.Support.TestData;
using static TypedRpc.Tests.Shared.StoreTestData;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>
/// What only the Redis store's wake-ups do (the rest is the wake-up contract), on redis-server
/// (<see cref="RedisWakeUpOnRedisServerTests"/>) and on the demo's embedded Garnet (<see cref="RedisWakeUpOnGarnetTests"/>).
/// </summary>
public abstract class RedisWakeUpTests
{
    private readonly IRedisTestServer redis;

    private protected RedisWakeUpTests(IRedisTestServer redis) => this.redis = redis;

    [Fact]
    public async Task WithAChannelPrefix_ScriptsPublishWhereSubscribersListen()
    {
        // StackExchange.Redis adds channelPrefix to what it subscribes and publishes, but a
        // PUBLISH inside a script is sent as written: the store must add the prefix itself.
        await using var store = new TypedRpc.Redis.RedisOwnershipStore(new TypedRpc.Redis.RedisOwnershipStoreOptions
        {
            Configuration = redis.Configuration + ",channelPrefix=app1.",
            Namespace = RedisServerFixture.NewNamespace(),
        });
        var woken = new ConcurrentQueue<CorrelationId>();
        await using var subscription = await store.SubscribeWakeUpsAsync("owner", id => { woken.Enqueue(id); return default; }, default);

        var stored = CorrelationId.NewId();
        var notified = CorrelationId.NewId();
        await store.StoreReplyAsync(Reply(stored, 0), Ttl, "owner", default);
        await store.NotifyAsync("owner", notified, default);

        await Eventually(() => woken.Count == 2, "both wake-ups");
        Assert.Equal(1L, await redis.Admin.SubscribersAsync("app1." + store.Namespace + ":wake:owner"));
    }

    [Fact]
    public async Task MalformedMessagesOnTheChannel_AreIgnored()
    {
        await using var store = redis.CreateStore();
        var woken = new ConcurrentQueue<CorrelationId>();
        await using var subscription = await store.SubscribeWakeUpsAsync("a", id => { woken.Enqueue(id); return default; }, default);

        await redis.Admin.ExecuteAsync("PUBLISH", store.Namespace + ":wake:a", "not an id");
        var call = CorrelationId.NewId();
        await store.NotifyAsync("a", call, default);

        await Eventually(() => woken.Count == 1, "the valid wake-up");
        await Settle();
        Assert.Equal([call], woken.ToArray());
    }
}
