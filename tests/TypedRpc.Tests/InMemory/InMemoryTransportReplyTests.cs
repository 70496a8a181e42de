using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Tests.InMemory.InMemoryTestData;
using static TypedRpc.Tests.Shared.StoreTestData;
using static TypedRpc.Tests.Shared.Waits;

namespace TypedRpc.Tests.InMemory;

public sealed class InMemoryTransportReplyTests
{
    [Fact]
    public async Task Replies_AreDeliveredInSendOrder_OneAtATime()
    {
        await using var transport = new InMemoryRpcTransport();
        const int Replies = 500;
        var order = new ConcurrentQueue<int>();
        var active = 0;
        var overlapped = false;
        var subscription = await transport.SubscribeRepliesAsync("caller", async (reply, _) =>
        {
            if (Interlocked.Increment(ref active) > 1)
            {
                overlapped = true;
            }

            // Go asynchronous now and then, so a second pump would have room to overlap.
            if (reply.Sequence % 7 == 0)
            {
                await Task.Yield();
            }

            order.Enqueue(reply.Sequence);
            Interlocked.Decrement(ref active);
        }, default);

        var id = CorrelationId.NewId();
        for (var i = 0; i < Replies; i++)
        {
            await transport.SendReplyAsync(subscription.Address, Reply(id, i), default);
        }

        await Eventually(() => order.Count == Replies, "all replies");
        Assert.False(overlapped);
        var expected = 0;
        foreach (var sequence in order)
        {
            Assert.Equal(expected++, sequence);
        }

        Assert.Equal(Replies, transport.RepliesSent);

        // Counted when the handler's task completes, just after it recorded the reply.
        await Eventually(() => transport.RepliesDelivered == Replies, "the delivered count");
    }

    [Fact]
    public async Task ReplyAddress_NamesTheInstance()
    {
        await using var transport = new InMemoryRpcTransport();
        await using var subscription = await transport.SubscribeRepliesAsync("node-7", (_, _) => default, default);

        Assert.Equal(new RpcReplyAddress("replies.node-7"), subscription.Address);
    }

    [Fact]
    public async Task RepliesToAnAbsentSubscriber_AreKept_ThenDeliveredInOrder()
    {
        await using var transport = new InMemoryRpcTransport();
        var address = new RpcReplyAddress("replies.late");
        var id = CorrelationId.NewId();
        for (var i = 0; i < 5; i++)
        {
            await transport.SendReplyAsync(address, Reply(id, i), default);
        }

        var order = new ConcurrentQueue<int>();
        await using var subscription = await transport.SubscribeRepliesAsync("late", (reply, _) => { order.Enqueue(reply.Sequence); return default; }, default);

        await Eventually(() => order.Count == 5, "the kept replies");
        Assert.Equal([0, 1, 2, 3, 4], order.ToArray());
    }

    [Fact]
    public async Task AfterUnsubscribe_RepliesWaitForTheNextSubscription()
    {
        await using var transport = new InMemoryRpcTransport();
        var id = CorrelationId.NewId();
        var first = new ConcurrentQueue<int>();
        var subscription = await transport.SubscribeRepliesAsync("caller", (reply, _) => { first.Enqueue(reply.Sequence); return default; }, default);
        await transport.SendReplyAsync(subscription.Address, Reply(id, 0), default);
        await Eventually(() => first.Count == 1, "the first reply");

        await subscription.DisposeAsync();
        await transport.SendReplyAsync(subscription.Address, Reply(id, 1), default);
        await transport.SendReplyAsync(subscription.Address, Reply(id, 2), default);
        await Settle();
        Assert.Equal([0], first.ToArray());

        var second = new ConcurrentQueue<int>();
        await using var again = await transport.SubscribeRepliesAsync("caller", (reply, _) => { second.Enqueue(reply.Sequence); return default; }, default);
        await Eventually(() => second.Count == 2, "the replies kept meanwhile");
        Assert.Equal([1, 2], second.ToArray());
    }

    [Fact]
    public async Task KeptReplies_AreBounded_DroppingTheOldest()
    {
        await using var transport = new InMemoryRpcTransport { MaxPendingRepliesPerAddress = 3 };
        var address = new RpcReplyAddress("replies.gone");
        var id = CorrelationId.NewId();
        for (var i = 0; i < 5; i++)
        {
            await transport.SendReplyAsync(address, Reply(id, i), default);
        }

        Assert.Equal(2, transport.DroppedReplies);
        var order = new ConcurrentQueue<int>();
        await using var subscription = await transport.SubscribeRepliesAsync("gone", (reply, _) => { order.Enqueue(reply.Sequence); return default; }, default);
        await Eventually(() => order.Count == 3, "the newest replies");
        Assert.Equal([2, 3, 4], order.ToArray());
    }

    [Fact]
    public async Task SubscribingTwiceToOneInstance_Throws_UntilTheFirstIsDisposed()
    {
        await using var transport = new InMemoryRpcTransport();
        var first = await transport.SubscribeRepliesAsync("twin", (_, _) => default, default);
        await using var other = await transport.SubscribeRepliesAsync("other", (_, _) => default, default);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await transport.SubscribeRepliesAsync("twin", (_, _) => default, default));
        Assert.Contains("'twin'", error.Message, StringComparison.Ordinal);

        await first.DisposeAsync();
        await using var second = await transport.SubscribeRepliesAsync("twin", (_, _) => default, default);
        Assert.Equal(first.Address, second.Address);
    }

    [Fact]
    public async Task ThrowingReplyHandler_IsCounted_AndLaterRepliesStillArrive()
    {
        await using var transport = new InMemoryRpcTransport();
        var delivered = new ConcurrentQueue<int>();
        await using var subscription = await transport.SubscribeRepliesAsync("caller", (reply, _) =>
        {
            if (reply.Sequence == 0)
            {
                throw new InvalidOperationException("handler bug");
            }

            delivered.Enqueue(reply.Sequence);
            return default;
        }, default);

        var id = CorrelationId.NewId();
        await transport.SendReplyAsync(subscription.Address, Reply(id, 0), default);
        await transport.SendReplyAsync(subscription.Address, Reply(id, 1), default);

        await Eventually(() => delivered.Count == 1, "the reply after the failing one");
        Assert.Equal(1, transport.ReplyHandlerFailures);
        await Eventually(() => transport.RepliesDelivered == 1, "the delivered count");
        await Settle();
        Assert.Equal(1, transport.RepliesDelivered);
    }

    [Fact]
    public async Task ReplyHandler_MayDisposeItsOwnSubscription()
    {
        await using var transport = new InMemoryRpcTransport();
        var signalled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        IRpcReplySubscription? subscription = null;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        subscription = await transport.SubscribeRepliesAsync("self", async (_, cancellationToken) =>
        {
            await ready.Task;
            await subscription!.DisposeAsync();
            signalled.TrySetResult(cancellationToken.IsCancellationRequested);
        }, default);
        ready.SetResult();

        await transport.SendReplyAsync(subscription.Address, Reply(CorrelationId.NewId(), 0), default);

        Assert.True(await signalled.Task.WaitAsync(WaitLimit));
    }

    [Fact]
    public async Task SendReply_DeliversTheReplyItself()
    {
        // A sent reply is the transport's (IRpcTransport): delivered as it is, not copied.
        await using var transport = new InMemoryRpcTransport();
        var address = new RpcReplyAddress("replies.copy");
        var id = CorrelationId.NewId();
        var sent = new RpcReply { Id = id, Sequence = 3, IsEnd = true, HasValue = true, Status = RpcStatusCode.OK, Detail = "d", Payload = new byte[] { 7, 8, 9 } };
        await transport.SendReplyAsync(address, sent, default);

        var received = new TaskCompletionSource<RpcReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await transport.SubscribeRepliesAsync("copy", (reply, _) => { received.TrySetResult(reply); return default; }, default);
        var got = await received.Task.WaitAsync(WaitLimit);

        Assert.Same(sent, got);
        Assert.Equal(new byte[] { 7, 8, 9 }, got.Payload.ToArray());
        Assert.Equal(id, got.Id);
        Assert.Equal(3, got.Sequence);
        Assert.True(got.IsEnd);
        Assert.True(got.HasValue);
        Assert.Equal("d", got.Detail);
    }

    [Fact]
    public async Task WhileDown_ReplySendsFail_AndKeptRepliesWaitUntilUp()
    {
        await using var transport = new InMemoryRpcTransport();
        var address = new RpcReplyAddress("replies.caller");
        var id = CorrelationId.NewId();
        await transport.SendReplyAsync(address, Reply(id, 0), default);
        transport.IsDown = true;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => transport.SendReplyAsync(address, Reply(id, 1), default).AsTask());
        Assert.Equal("The in-memory transport is down.", error.Message);

        var received = new ConcurrentQueue<int>();
        await using var subscription = await transport.SubscribeRepliesAsync("caller", (reply, _) => { received.Enqueue(reply.Sequence); return default; }, default);
        await Settle();
        Assert.Empty(received);

        transport.IsDown = false;

        await Eventually(() => !received.IsEmpty, "the kept reply");
        await Settle();
        Assert.Equal([0], received.ToArray());
        Assert.Equal(1, transport.RepliesSent);
    }
}
