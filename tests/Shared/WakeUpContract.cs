using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Shared;

/// <summary>
/// What every <see cref="IRpcOwnershipStore"/> must do with wake-ups, written once and run against
/// each store (in memory, redis-server and Garnet).
/// </summary>
/// <typeparam name="TStore">The store under test.</typeparam>
/// <param name="kind">The kind of store the contract runs on.</param>
public abstract class WakeUpContract<TStore>(StoreKind<TStore> kind) : StoreContract<TStore>(kind) where TStore : class, IRpcOwnershipStore, IRpcClaimStore
{
    [Fact]
    public async Task Notify_ReachesEverySubscriberOfTheInstance_AndNoOther()
    {
        var store = NewStore();
        var other = AnotherClientOf(store);
        var first = new ConcurrentQueue<CorrelationId>();
        var second = new ConcurrentQueue<CorrelationId>();
        var elsewhere = new ConcurrentQueue<CorrelationId>();
        await using var a1 = await store.SubscribeWakeUpsAsync("a", id => { first.Enqueue(id); return default; }, default);
        await using var a2 = await store.SubscribeWakeUpsAsync("a", id => { second.Enqueue(id); return default; }, default);
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
        var store = NewStore();
        var kept = new ConcurrentQueue<CorrelationId>();
        var dropped = new ConcurrentQueue<CorrelationId>();
        await using var keptSubscription = await store.SubscribeWakeUpsAsync("a", id => { kept.Enqueue(id); return default; }, default);
        var subscription = await store.SubscribeWakeUpsAsync("a", id => { dropped.Enqueue(id); return default; }, default);

        await store.NotifyAsync("a", CorrelationId.NewId(), default);
        await Eventually(() => dropped.Count == 1 && kept.Count == 1, "the first wake-up");

        await subscription.DisposeAsync();
        await subscription.DisposeAsync();
        Assert.NotEqual(0, await Kind.WakeUpSubscribersAsync(store, "a"));
        await store.NotifyAsync("a", CorrelationId.NewId(), default);

        await Eventually(() => kept.Count == 2, "the second wake-up to the remaining subscriber");
        await Settle();
        Assert.Single(dropped);

        // The last subscriber leaving leaves nothing subscribed (on a server, the channel is unsubscribed).
        await keptSubscription.DisposeAsync();
        await Eventually(async () => await Kind.WakeUpSubscribersAsync(store, "a") == 0, "the last subscription to be gone");
    }

    [Fact]
    public async Task Callbacks_RunOnThePoolWithoutTheNotifiersContext_OneStuckCallbackBlocksNoOtherSubscriber_AndThrowingIsIgnored()
    {
        var store = NewStore();
        var local = new AsyncLocal<string?>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stuckCalls = new ConcurrentQueue<(CorrelationId Id, string? Local)>();
        var poolThreads = 0;
        await using var stuck = await store.SubscribeWakeUpsAsync("a", async id =>
        {
            stuckCalls.Enqueue((id, local.Value));
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

        local.Value = "notifier's";
        var first = CorrelationId.NewId();
        var second = CorrelationId.NewId();
        await store.NotifyAsync("a", first, default);
        await Eventually(() => stuckCalls.Count == 1, "the first callback");

        // The notifier does not wait for the stuck callback.
        await store.NotifyAsync("a", second, default).AsTask().WaitAsync(Waits.WaitLimit);

        // While 'a' is stuck in its callback, 'b' (same store) still gets its wake-ups,
        // and keeps getting them although its callback throws.
        await store.NotifyAsync("b", CorrelationId.NewId(), default);
        await store.NotifyAsync("b", CorrelationId.NewId(), default);
        await Eventually(() => Volatile.Read(ref freeCalls) == 2, "both wake-ups of 'b'");

        release.SetResult();
        await Eventually(() => stuckCalls.Count == 2, "the wake-up queued behind the stuck callback");
        Assert.Equal(new (CorrelationId, string?)[] { (first, null), (second, null) }, stuckCalls.ToArray());
        Assert.Equal(2, Volatile.Read(ref poolThreads));
    }

    [Fact]
    public async Task StoreReply_WakesTheOwner_WhichThenFindsTheReply()
    {
        // The reply is stored by another client (on a server, another process) than the owner's.
        var owner = NewStore();
        var forwarder = AnotherClientOf(owner);
        var found = new TaskCompletionSource<IReadOnlyList<RpcReply>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await owner.SubscribeWakeUpsAsync("owner", async id => found.TrySetResult(await owner.GetRepliesAsync(id, default)), default);

        var call = CorrelationId.NewId();
        await forwarder.StoreReplyAsync(StoreTestData.Reply(call, 0, [42], isEnd: true), StoreTestData.Ttl, "owner", default);

        var replies = await found.Task.WaitAsync(Waits.WaitLimit);
        Assert.Equal(42, Assert.Single(replies).Payload.Span[0]);
    }

    [Fact]
    public async Task StoreReply_WakesEvenForARepeatedSequence_AndWithoutAnInstanceWakesNobody()
    {
        var store = NewStore();
        var woken = new ConcurrentQueue<CorrelationId>();
        await using var subscription = await store.SubscribeWakeUpsAsync("owner", id => { woken.Enqueue(id); return default; }, default);
        var call = CorrelationId.NewId();

        await store.StoreReplyAsync(StoreTestData.Reply(call, 0), StoreTestData.Ttl, null, default);
        await Settle();
        Assert.Empty(woken);

        await store.StoreReplyAsync(StoreTestData.Reply(call, 0), StoreTestData.Ttl, "owner", default);
        await Eventually(() => woken.Count == 1, "the wake-up for the repeated message");
        Assert.Single(await store.GetRepliesAsync(call, default));
    }
}
