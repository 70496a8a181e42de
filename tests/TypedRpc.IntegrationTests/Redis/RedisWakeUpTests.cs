using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.IntegrationTests.Support.TestData;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>
/// Wake-ups over Redis pub/sub, on redis-server (<see cref="RedisWakeUpOnRedisServerTests"/>) and on the
/// demo's embedded Garnet (<see cref="RedisWakeUpOnGarnetTests"/>).
/// </summary>
public abstract class RedisWakeUpTests
{
    private readonly IRedisTestServer redis;

    private protected RedisWakeUpTests(IRedisTestServer redis) => this.redis = redis;

    [Fact]
    public async Task Notify_ReachesEverySubscriberOfTheInstance_AndNoOther()
    {
        await using var store = redis.CreateStore();
        await using var other = redis.CreateStore(store.Namespace);
        var first = new ConcurrentQueue<CorrelationId>();
        var second = new ConcurrentQueue<CorrelationId>();
        var elsewhere = new ConcurrentQueue<CorrelationId>();
        await using var a1 = await store.SubscribeWakeUpsAsync("a", id => { first.Enqueue(id); return default; }, default);
        await using var a2 = await other.SubscribeWakeUpsAsync("a", id => { second.Enqueue(id); return default; }, default);
        await using var b = await store.SubscribeWakeUpsAsync("b", id => { elsewhere.Enqueue(id); return default; }, default);

        var call = CorrelationId.NewId();
        await other.NotifyAsync("a", call, default);

        await Eventually(() => first.Count == 1 && second.Count == 1, "both subscribers of 'a'");
        await Settle();
        Assert.Equal([call], first.ToArray());
        Assert.Equal([call], second.ToArray());
        Assert.Empty(elsewhere);
    }

    [Fact]
    public async Task DisposedSubscription_GetsNoMoreWakeUps()
    {
        await using var store = redis.CreateStore();
        var kept = new ConcurrentQueue<CorrelationId>();
        var dropped = new ConcurrentQueue<CorrelationId>();
        await using var keptSubscription = await store.SubscribeWakeUpsAsync("a", id => { kept.Enqueue(id); return default; }, default);
        var subscription = await store.SubscribeWakeUpsAsync("a", id => { dropped.Enqueue(id); return default; }, default);

        await store.NotifyAsync("a", CorrelationId.NewId(), default);
        await Eventually(() => dropped.Count == 1 && kept.Count == 1, "the first wake-up");

        await subscription.DisposeAsync();
        await subscription.DisposeAsync();
        await store.NotifyAsync("a", CorrelationId.NewId(), default);

        await Eventually(() => kept.Count == 2, "the second wake-up to the remaining subscriber");
        await Settle();
        Assert.Single(dropped);

        // The last subscriber leaving unsubscribes the channel on the server.
        await keptSubscription.DisposeAsync();
        await Eventually(async () => await NumberOfSubscribersAsync(store.Namespace + ":wake:a") == 0, "the channel to be unsubscribed");
    }

    [Fact]
    public async Task Callbacks_RunOnTheThreadPool_OneStuckCallbackBlocksNoOtherSubscriber_AndThrowingIsIgnored()
    {
        await using var store = redis.CreateStore();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stuckCalls = new ConcurrentQueue<CorrelationId>();
        var poolThreads = 0;
        await using var stuck = await store.SubscribeWakeUpsAsync("a", async id =>
        {
            stuckCalls.Enqueue(id);
            if (Thread.CurrentThread.IsThreadPoolThread)
            {
                Interlocked.Increment(ref poolThreads);
            }

            if (stuckCalls.Count == 1)
            {
                await release.Task;
                throw new InvalidOperationException("callbacks must not throw, but this one does");
            }
        }, default);
        var freeCalls = 0;
        await using var free = await store.SubscribeWakeUpsAsync("b", _ =>
        {
            Interlocked.Increment(ref freeCalls);
            throw new InvalidOperationException("synchronous throw");
        }, default);

        var first = CorrelationId.NewId();
        var second = CorrelationId.NewId();
        await store.NotifyAsync("a", first, default);
        await Eventually(() => stuckCalls.Count == 1, "the first callback");
        await store.NotifyAsync("a", second, default);

        // While 'a' is stuck in its callback, 'b' (same connection) still gets its wake-ups,
        // and keeps getting them although its callback throws.
        await store.NotifyAsync("b", CorrelationId.NewId(), default);
        await store.NotifyAsync("b", CorrelationId.NewId(), default);
        await Eventually(() => Volatile.Read(ref freeCalls) == 2, "both wake-ups of 'b'");

        release.SetResult();
        await Eventually(() => stuckCalls.Count == 2, "the wake-up queued behind the stuck callback");
        Assert.Equal([first, second], stuckCalls.ToArray());
        Assert.Equal(2, Volatile.Read(ref poolThreads));
    }

    [Fact]
    public async Task StoreReply_WakesTheOwnerInAnotherProcess_WhichThenFindsTheReply()
    {
        await using var owner = redis.CreateStore();
        await using var forwarder = redis.CreateStore(owner.Namespace);
        var found = new TaskCompletionSource<IReadOnlyList<RpcReply>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await owner.SubscribeWakeUpsAsync("owner", async id => found.TrySetResult(await owner.GetRepliesAsync(id, default)), default);

        var call = CorrelationId.NewId();
        await forwarder.StoreReplyAsync(Reply(call, 0, [42], isEnd: true), Ttl, "owner", default);

        var replies = await found.Task.WaitAsync(WaitLimit);
        Assert.Equal(42, Assert.Single(replies).Payload.Span[0]);
    }

    [Fact]
    public async Task StoreReply_WakesEvenForARepeatedSequence_AndWithoutAnInstanceWakesNobody()
    {
        await using var store = redis.CreateStore();
        var woken = new ConcurrentQueue<CorrelationId>();
        await using var subscription = await store.SubscribeWakeUpsAsync("owner", id => { woken.Enqueue(id); return default; }, default);
        var call = CorrelationId.NewId();

        await store.StoreReplyAsync(Reply(call, 0), Ttl, null, default);
        await Settle();
        Assert.Empty(woken);

        await store.StoreReplyAsync(Reply(call, 0), Ttl, "owner", default);
        await Eventually(() => woken.Count == 1, "the wake-up for the repeated message");
        Assert.Single(await store.GetRepliesAsync(call, default));
    }

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
        Assert.Equal(1L, await NumberOfSubscribersAsync("app1." + store.Namespace + ":wake:owner"));
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

    private async Task<long> NumberOfSubscribersAsync(string channel)
    {
        var result = (StackExchange.Redis.RedisResult[]?)await redis.Admin.ExecuteAsync("PUBSUB", "NUMSUB", channel);
        Assert.NotNull(result);
        return (long)result[1];
    }
}
