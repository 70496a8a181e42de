using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Tests.InMemory.InMemoryTestData;

namespace TypedRpc.Tests.InMemory;

public sealed class InMemoryOwnershipStoreWakeUpTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Notify_ReachesEverySubscriberOfTheInstance_AndNoOther()
    {
        var store = new InMemoryOwnershipStore();
        var first = new ConcurrentQueue<CorrelationId>();
        var second = new ConcurrentQueue<CorrelationId>();
        var elsewhere = new ConcurrentQueue<CorrelationId>();
        await store.SubscribeWakeUpsAsync("a", id => { first.Enqueue(id); return default; }, default);
        await store.SubscribeWakeUpsAsync("a", id => { second.Enqueue(id); return default; }, default);
        await store.SubscribeWakeUpsAsync("b", id => { elsewhere.Enqueue(id); return default; }, default);

        var call = CorrelationId.NewId();
        await store.NotifyAsync("a", call, default);

        await Eventually(() => first.Count == 1 && second.Count == 1, "both subscribers of 'a'");
        await Settle();
        Assert.Equal([call], first.ToArray());
        Assert.Equal([call], second.ToArray());
        Assert.Empty(elsewhere);
    }

    [Fact]
    public async Task DisposedSubscription_GetsNoMoreWakeUps()
    {
        var store = new InMemoryOwnershipStore();
        var kept = new ConcurrentQueue<CorrelationId>();
        var dropped = new ConcurrentQueue<CorrelationId>();
        await store.SubscribeWakeUpsAsync("a", id => { kept.Enqueue(id); return default; }, default);
        var subscription = await store.SubscribeWakeUpsAsync("a", id => { dropped.Enqueue(id); return default; }, default);

        await store.NotifyAsync("a", CorrelationId.NewId(), default);
        await Eventually(() => dropped.Count == 1 && kept.Count == 1, "the first wake-up");

        Assert.Equal(2, store.WakeUpSubscriptionCount("a"));
        await subscription.DisposeAsync();
        await subscription.DisposeAsync();
        Assert.Equal(1, store.WakeUpSubscriptionCount("a"));
        await store.NotifyAsync("a", CorrelationId.NewId(), default);

        await Eventually(() => kept.Count == 2, "the second wake-up to the remaining subscriber");
        await Settle();
        Assert.Single(dropped);
    }

    [Fact]
    public async Task Notify_NeverRunsTheCallbackOnTheCallersStack_NorThrowsIntoIt()
    {
        var store = new InMemoryOwnershipStore();
        var local = new AsyncLocal<string?>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = new ConcurrentQueue<(CorrelationId Id, string? Local)>();
        await store.SubscribeWakeUpsAsync("a", async id =>
        {
            calls.Enqueue((id, local.Value));
            if (calls.Count == 1)
            {
                // A slow callback: the notifier must not wait for it.
                await release.Task;
                throw new InvalidOperationException("callbacks must not throw, but this one does");
            }
        }, default);

        local.Value = "notifier's";
        var first = CorrelationId.NewId();
        var second = CorrelationId.NewId();
        Assert.True(store.NotifyAsync("a", first, default).IsCompletedSuccessfully);
        await Eventually(() => calls.Count == 1, "the first callback");
        Assert.True(store.NotifyAsync("a", second, default).IsCompletedSuccessfully);

        release.SetResult();

        await Eventually(() => calls.Count == 2, "the wake-up after the throwing callback");
        Assert.Equal(new (CorrelationId, string?)[] { (first, null), (second, null) }, calls.ToArray());
    }

    [Fact]
    public async Task SynchronouslyThrowingCallback_IsSwallowed()
    {
        var store = new InMemoryOwnershipStore();
        var calls = 0;
        await store.SubscribeWakeUpsAsync("a", _ =>
        {
            Interlocked.Increment(ref calls);
            throw new InvalidOperationException("sync throw");
        }, default);

        await store.NotifyAsync("a", CorrelationId.NewId(), default);
        await store.NotifyAsync("a", CorrelationId.NewId(), default);

        await Eventually(() => Volatile.Read(ref calls) == 2, "both callbacks");
    }

    [Fact]
    public async Task StoreReply_WakesTheInstance_WhichThenFindsTheReply()
    {
        var store = new InMemoryOwnershipStore();
        var found = new TaskCompletionSource<IReadOnlyList<RpcReply>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await store.SubscribeWakeUpsAsync("owner", async id => found.TrySetResult(await store.GetRepliesAsync(id, default)), default);

        var call = CorrelationId.NewId();
        await store.StoreReplyAsync(Reply(call, 0, [42], isEnd: true), Ttl, "owner", default);

        var replies = await found.Task.WaitAsync(WaitLimit);
        Assert.Equal(42, Assert.Single(replies).Payload.Span[0]);
    }

    [Fact]
    public async Task StoreReply_WithoutAnInstance_WakesNobody()
    {
        var store = new InMemoryOwnershipStore();
        var woken = 0;
        await store.SubscribeWakeUpsAsync("owner", _ => { Interlocked.Increment(ref woken); return default; }, default);

        await store.StoreReplyAsync(Reply(CorrelationId.NewId(), 0), Ttl, null, default);

        await Settle();
        Assert.Equal(0, Volatile.Read(ref woken));
    }
}
