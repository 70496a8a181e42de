using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Tests.InMemory.InMemoryTestData;
using static TypedRpc.Tests.Shared.StoreTestData;
using static TypedRpc.Tests.Shared.Waits;

namespace TypedRpc.Tests.InMemory;

public sealed class InMemoryTransportRequestTests
{
    [Fact]
    public async Task EachRequest_GoesToExactlyOneOfSeveralSubscribers()
    {
        await using var transport = new InMemoryRpcTransport();
        const int Requests = 300;
        var seen = new ConcurrentDictionary<CorrelationId, int>();
        var perMember = new int[3];
        var handled = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var m = 0; m < perMember.Length; m++)
        {
            var member = m;
            await transport.SubscribeRequestsAsync(Service, (request, _) =>
            {
                seen.AddOrUpdate(request.Id, 1, static (_, n) => n + 1);
                Interlocked.Increment(ref perMember[member]);
                if (Interlocked.Increment(ref handled) == Requests)
                {
                    all.TrySetResult();
                }

                return ValueTask.CompletedTask;
            }, default);
        }

        for (var i = 0; i < Requests; i++)
        {
            await transport.SendRequestAsync(Service, Request(), default);
        }

        await all.Task.WaitAsync(WaitLimit);
        await Settle();

        Assert.Equal(Requests, seen.Count);
        Assert.All(seen.Values, count => Assert.Equal(1, count));
        Assert.All(perMember, count => Assert.True(count > 0, "every member of the group gets a share"));
        Assert.Equal(Requests, transport.RequestsSent);
        Assert.Equal(Requests, transport.Deliveries);
        Assert.Equal(0, transport.Redeliveries);
    }

    [Fact]
    public async Task RequestsGoOnlyToTheirOwnServiceGroup()
    {
        await using var transport = new InMemoryRpcTransport();
        var other = 0;
        var received = new TaskCompletionSource<RpcRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        await transport.SubscribeRequestsAsync(OtherService, (_, _) => { Interlocked.Increment(ref other); return ValueTask.CompletedTask; }, default);
        await transport.SubscribeRequestsAsync(Service, (request, _) => { received.TrySetResult(request); return ValueTask.CompletedTask; }, default);

        var sent = Request();
        await transport.SendRequestAsync(Service, sent, default);

        Assert.Equal(sent.Id, (await received.Task.WaitAsync(WaitLimit)).Id);
        Assert.Equal(0, Volatile.Read(ref other));
    }

    [Fact]
    public async Task DeliveriesToOneSubscriber_RunConcurrently()
    {
        await using var transport = new InMemoryRpcTransport();
        var inHandler = 0;
        var bothInside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Each handler waits until the other is inside too: serialized deliveries would never get there.
        await transport.SubscribeRequestsAsync(Service, async (_, _) =>
        {
            if (Interlocked.Increment(ref inHandler) == 2)
            {
                bothInside.TrySetResult();
            }

            await bothInside.Task;
        }, default);

        await transport.SendRequestAsync(Service, Request(), default);
        await transport.SendRequestAsync(Service, Request(), default);

        await bothInside.Task.WaitAsync(WaitLimit);
    }

    [Fact]
    public async Task HandlerThrows_RequestIsDeliveredAgain()
    {
        await using var transport = new InMemoryRpcTransport();
        var attempts = 0;
        var handled = new TaskCompletionSource<RpcRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        await transport.SubscribeRequestsAsync(Service, (request, _) =>
        {
            if (Interlocked.Increment(ref attempts) == 1)
            {
                throw new InvalidOperationException("first attempt fails");
            }

            handled.TrySetResult(request);
            return ValueTask.CompletedTask;
        }, default);

        var sent = Request();
        await transport.SendRequestAsync(Service, sent, default);

        Assert.Equal(sent.Id, (await handled.Task.WaitAsync(WaitLimit)).Id);
        await Settle();
        Assert.Equal(2, Volatile.Read(ref attempts));
        Assert.Equal(2, transport.Deliveries);
        Assert.Equal(1, transport.Redeliveries);
        Assert.Empty(transport.DeadLetters);
    }

    [Fact]
    public async Task SubscriptionDisposedWhileInFlight_RequestGoesToAnotherSubscriber_AndTheLateAckIsIgnored()
    {
        await using var transport = new InMemoryRpcTransport();
        var firstStarted = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstReturned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = await transport.SubscribeRequestsAsync(Service, (_, cancellationToken) =>
        {
            firstStarted.TrySetResult(cancellationToken);

            // Swallows the cancellation and returns normally, synchronously inside the token's
            // cancellation: that must not count as an acknowledgement of the handed-back request.
            var done = new TaskCompletionSource();
            cancellationToken.Register(() =>
            {
                done.TrySetResult();
                firstReturned.TrySetResult();
            });
            return new ValueTask(done.Task);
        }, default);

        var sent = Request();
        await transport.SendRequestAsync(Service, sent, default);
        var firstToken = await firstStarted.Task.WaitAsync(WaitLimit);

        var secondGot = new ConcurrentQueue<CorrelationId>();
        await transport.SubscribeRequestsAsync(Service, (request, _) => { secondGot.Enqueue(request.Id); return ValueTask.CompletedTask; }, default);
        await Settle();
        Assert.Empty(secondGot);

        await first.DisposeAsync();

        Assert.True(firstToken.IsCancellationRequested);
        await firstReturned.Task.WaitAsync(WaitLimit);
        await Eventually(() => !secondGot.IsEmpty, "the redelivery to the second subscriber");
        await Settle();
        Assert.Equal([sent.Id], secondGot.ToArray());
        Assert.Equal(2, transport.Deliveries);
        Assert.Equal(1, transport.Redeliveries);
        Assert.Empty(transport.DeadLetters);
    }

    [Fact]
    public async Task WithNoSubscriber_RequestsWaitInAQueue()
    {
        await using var transport = new InMemoryRpcTransport();
        var sent = new[] { Request(), Request(), Request() };
        foreach (var request in sent)
        {
            await transport.SendRequestAsync(Service, request, default);
        }

        await Settle();
        Assert.Equal(0, transport.Deliveries);

        var received = new ConcurrentDictionary<CorrelationId, bool>();
        await transport.SubscribeRequestsAsync(Service, (request, _) => { received[request.Id] = true; return ValueTask.CompletedTask; }, default);

        await Eventually(() => received.Count == sent.Length, "the queued requests");
        foreach (var request in sent)
        {
            Assert.True(received.ContainsKey(request.Id));
        }
    }

    [Fact]
    public async Task AfterFiveFailedDeliveries_TheRequestIsDeadLettered()
    {
        await using var transport = new InMemoryRpcTransport();
        await transport.SubscribeRequestsAsync(Service, async (_, _) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("poison");
        }, default);

        var sent = Request();
        await transport.SendRequestAsync(Service, sent, default);

        await Eventually(() => transport.DeadLetters.Count == 1, "the dead letter");
        await Settle();
        var deadLetter = Assert.Single(transport.DeadLetters);
        Assert.Equal(sent.Id, deadLetter.Request.Id);
        Assert.Equal(Service.ServiceName, deadLetter.Service);
        Assert.Equal(InMemoryRpcTransport.MaxDeliveryAttempts, deadLetter.Attempts);
        Assert.Contains("poison", deadLetter.Reason, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(deadLetter.Exception);
        Assert.Equal(5, transport.Deliveries);
        Assert.Equal(4, transport.Redeliveries);
    }

    [Fact]
    public async Task RequestWhoseSubscribersKeepLeaving_IsDeadLetteredWithThatReason()
    {
        await using var transport = new InMemoryRpcTransport();
        await transport.SendRequestAsync(Service, Request(), default);

        for (var i = 0; i < InMemoryRpcTransport.MaxDeliveryAttempts; i++)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var subscription = await transport.SubscribeRequestsAsync(Service, (_, _) =>
            {
                started.TrySetResult();
                return new ValueTask(new TaskCompletionSource().Task);
            }, default);
            await started.Task.WaitAsync(WaitLimit);
            await subscription.DisposeAsync();
        }

        var deadLetter = Assert.Single(transport.DeadLetters);
        Assert.Null(deadLetter.Exception);
        Assert.Contains("disposed", deadLetter.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DuplicateEveryRequest_DeliversEachRequestTwice_UntilSwitchedOff()
    {
        await using var transport = new InMemoryRpcTransport { Faults = { DuplicateEveryRequest = true } };
        var seen = new ConcurrentDictionary<CorrelationId, int>();
        var handled = 0;
        RpcRequestHandler handler = (request, _) =>
        {
            seen.AddOrUpdate(request.Id, 1, static (_, n) => n + 1);
            Interlocked.Increment(ref handled);
            return ValueTask.CompletedTask;
        };
        await transport.SubscribeRequestsAsync(Service, handler, default);
        await transport.SubscribeRequestsAsync(Service, handler, default);

        for (var i = 0; i < 10; i++)
        {
            await transport.SendRequestAsync(Service, Request(), default);
        }

        await Eventually(() => Volatile.Read(ref handled) == 20, "two deliveries of each request");
        Assert.Equal(10, seen.Count);
        Assert.All(seen.Values, count => Assert.Equal(2, count));

        transport.Faults.DuplicateEveryRequest = false;
        var single = Request();
        await transport.SendRequestAsync(Service, single, default);
        await Eventually(() => Volatile.Read(ref handled) == 21, "the last request");
        await Settle();
        Assert.Equal(1, seen[single.Id]);
        Assert.Equal(21, transport.Deliveries);
        Assert.Equal(11, transport.RequestsSent);
        Assert.Equal(0, transport.Redeliveries);
    }

    [Fact]
    public async Task SendRequest_DeliversTheRequestItself_WithEveryField()
    {
        // A sent request is the transport's (IRpcTransport): the in-memory one hands that very
        // object over rather than a copy, so nothing can be lost in transit.
        await using var transport = new InMemoryRpcTransport();
        var request = new RpcRequest
        {
            Id = CorrelationId.NewId(),
            Service = Service.ServiceName,
            Method = "Ping",
            ReplyTo = new RpcReplyAddress("replies.caller"),
            Owner = "caller",
            DeadlineUnixMs = 42,
            Payload = new byte[] { 1, 2, 3 },
            Key = "k",
            Headers = new Dictionary<string, string> { ["tenant"] = "t1" },
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            TraceState = "s=1",
            DecodeError = "bad header",
        };
        await transport.SendRequestAsync(Service, request, default);

        var received = new TaskCompletionSource<RpcRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        await transport.SubscribeRequestsAsync(Service, (r, _) => { received.TrySetResult(r); return ValueTask.CompletedTask; }, default);
        var got = await received.Task.WaitAsync(WaitLimit);

        Assert.Same(request, got);
        Assert.Equal(new byte[] { 1, 2, 3 }, got.Payload.ToArray());
        Assert.Equal("t1", got.Headers!["tenant"]);
    }

    [Fact]
    public async Task Handlers_DoNotSeeTheSendersExecutionContext()
    {
        await using var transport = new InMemoryRpcTransport();
        var local = new AsyncLocal<string?>();
        var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await transport.SubscribeRequestsAsync(Service, (_, _) => { seen.TrySetResult(local.Value); return ValueTask.CompletedTask; }, default);

        local.Value = "sender's";
        await transport.SendRequestAsync(Service, Request(), default);

        Assert.Null(await seen.Task.WaitAsync(WaitLimit));
    }

    [Fact]
    public async Task WhileDown_SendsFail_AndQueuedRequestsWaitUntilUp()
    {
        await using var transport = new InMemoryRpcTransport();
        var queued = Request();
        await transport.SendRequestAsync(Service, queued, default);
        transport.IsDown = true;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => transport.SendRequestAsync(Service, Request(), default).AsTask());
        Assert.Equal("The in-memory transport is down.", error.Message);

        var received = new ConcurrentQueue<CorrelationId>();
        await transport.SubscribeRequestsAsync(Service, (request, _) => { received.Enqueue(request.Id); return ValueTask.CompletedTask; }, default);
        await Settle();
        Assert.Empty(received);
        Assert.Equal(0, transport.Deliveries);

        transport.IsDown = false;

        await Eventually(() => !received.IsEmpty, "the queued request");
        await Settle();
        Assert.Equal([queued.Id], received.ToArray());
        Assert.Equal(1, transport.RequestsSent);
    }

    [Fact]
    public async Task AfterDispose_EverythingThrows_AndRunningHandlersAreSignalled()
    {
        var transport = new InMemoryRpcTransport();
        var started = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = await transport.SubscribeRequestsAsync(Service, (_, cancellationToken) =>
        {
            started.TrySetResult(cancellationToken);
            return new ValueTask(new TaskCompletionSource().Task);
        }, default);
        await transport.SendRequestAsync(Service, Request(), default);
        var token = await started.Task.WaitAsync(WaitLimit);

        await transport.DisposeAsync();

        Assert.True(token.IsCancellationRequested);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => transport.SendRequestAsync(Service, Request(), default).AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => transport.SendReplyAsync(new RpcReplyAddress("replies.x"), Reply(CorrelationId.NewId(), 0), default).AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await transport.SubscribeRequestsAsync(Service, (_, _) => default, default));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await transport.SubscribeRepliesAsync("x", (_, _) => default, default));

        // Disposing what is left is harmless, and nothing was handed on.
        await subscription.DisposeAsync();
        await transport.DisposeAsync();
        Assert.Equal(1, transport.Deliveries);
        Assert.Empty(transport.DeadLetters);
    }

    [Fact]
    public async Task InvalidArguments_AreRefused()
    {
        await using var transport = new InMemoryRpcTransport();
        RpcRequestHandler requestHandler = (_, _) => default;
        RpcReplyHandler replyHandler = (_, _) => default;

        Assert.Throws<ArgumentNullException>(() => { _ = transport.SendRequestAsync(null!, Request(), default); });
        Assert.Throws<ArgumentNullException>(() => { _ = transport.SendRequestAsync(Service, null!, default); });
        Assert.Throws<ArgumentException>(() => { _ = transport.SendReplyAsync(default, Reply(CorrelationId.NewId(), 0), default); });
        Assert.Throws<ArgumentNullException>(() => { _ = transport.SendReplyAsync(new RpcReplyAddress("replies.x"), null!, default); });
        Assert.Throws<ArgumentNullException>(() => { _ = transport.SubscribeRequestsAsync(null!, requestHandler, default); });
        Assert.Throws<ArgumentNullException>(() => { _ = transport.SubscribeRequestsAsync(Service, null!, default); });
        Assert.Throws<ArgumentException>(() => { _ = transport.SubscribeRepliesAsync("", replyHandler, default); });
        Assert.Throws<ArgumentNullException>(() => { _ = transport.SubscribeRepliesAsync(null!, replyHandler, default); });
        Assert.Throws<ArgumentNullException>(() => { _ = transport.SubscribeRepliesAsync("x", null!, default); });
        Assert.Throws<ArgumentOutOfRangeException>(() => new InMemoryRpcTransport { MaxPendingRepliesPerAddress = 0 });
        Assert.Equal(0, transport.RequestsSent);
    }
}
