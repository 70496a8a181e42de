using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>Server dispatch: error mapping, bad requests, deadlines, dedupe, concurrency.</summary>
public sealed class ServerTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new();
    private TestInstance _node = null!;
    private RawPeer _caller = null!;

    public async Task InitializeAsync()
    {
        _node = await _cluster.StartAsync();
        _caller = new RawPeer(_cluster.Transport);
        await _caller.ListenAsync("raw-caller");
    }

    public async Task DisposeAsync()
    {
        await _caller.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task AnRpcExceptionFromTheHandler_KeepsItsStatus()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _node.Client.FailAsync("rpc"));

        Assert.Equal(RpcStatusCode.PermissionDenied, ex.StatusCode);
        Assert.Equal("no entry", ex.Status.Detail);
    }

    [Fact]
    public async Task AnyOtherException_IsInternalWithAGenericMessage()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _node.Client.FailAsync("generic"));

        Assert.Equal(RpcStatusCode.Internal, ex.StatusCode);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExceptionDetails_AreSentWhenSwitchedOn()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(configure: o => o.IncludeExceptionDetails = true);

        var ex = await Assert.ThrowsAsync<RpcException>(() => node.Client.FailAsync("generic"));

        Assert.Equal(RpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains("InvalidOperationException: secret internals", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownMethod_IsNotFound()
    {
        await _caller.SendRequestAsync(TestServiceDescriptor.Service, "NoSuchMethod", "{}");

        var reply = await _caller.NextReplyAsync();
        Assert.Equal(RpcStatusCode.NotFound, reply.Status);
        Assert.True(reply.IsEnd);
        Assert.Contains("engine-test/NoSuchMethod", reply.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"value\":\"x\",\"delayMs\":0}")]
    [InlineData("{\"delayMs\":0}")]
    [InlineData("[]")]
    public async Task UndecodableArguments_AreInvalidArgument_AndNotExecuted(string json)
    {
        var before = _cluster.State.Executions;
        await _caller.SendRequestAsync(TestServiceDescriptor.Service, "Echo", json);

        var reply = await _caller.NextReplyAsync();
        Assert.Equal(RpcStatusCode.InvalidArgument, reply.Status);
        Assert.Equal(before, _cluster.State.Executions);
    }

    [Fact]
    public async Task ARequestTheTransportCouldNotDecode_IsInvalidArgument()
    {
        await _caller.SendRequestAsync(TestServiceDescriptor.Service, "Echo", "{\"value\":1,\"delayMs\":0}", decodeError: "header trpc-deadline is not a number");

        var reply = await _caller.NextReplyAsync();
        Assert.Equal(RpcStatusCode.InvalidArgument, reply.Status);
        Assert.Equal("header trpc-deadline is not a number", reply.Detail);
    }

    [Fact]
    public async Task ARequestPastItsDeadline_IsNotExecuted_ButAnsweredDeadlineExceeded()
    {
        var before = _cluster.State.Executions;
        var late = CorrelationId.NewId();
        var onTime = CorrelationId.NewId();
        await _caller.SendRequestAsync(TestServiceDescriptor.Service, "Echo", "{\"value\":1,\"delayMs\":0}", deadlineUnixMs: DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds(), id: late);
        await _caller.SendRequestAsync(TestServiceDescriptor.Service, "Echo", "{\"value\":2,\"delayMs\":0}", id: onTime);

        var replies = new[] { await _caller.NextReplyAsync(), await _caller.NextReplyAsync() };
        var expired = Assert.Single(replies, r => r.Id == late);
        Assert.Equal(RpcStatusCode.DeadlineExceeded, expired.Status);
        Assert.True(expired.IsEnd);
        Assert.False(expired.HasValue);
        Assert.Contains("after its deadline", expired.Detail);
        Assert.Equal("2", System.Text.Encoding.UTF8.GetString(Assert.Single(replies, r => r.Id == onTime).Payload.Span));
        Assert.Equal(before + 1, _cluster.State.Executions);
    }

    [Fact]
    public async Task ALateRedeliveryOfARequestThatRan_IsAnsweredWithItsResult_NotAsNeverRun()
    {
        // As when a server dies after storing its result but before its reply went out, and the
        // request is delivered again past its deadline.
        var id = CorrelationId.NewId();
        await _caller.SendRequestAsync(TestServiceDescriptor.Service, "Echo", "{\"value\":7,\"delayMs\":0}", id: id);
        Assert.Equal("7", System.Text.Encoding.UTF8.GetString((await _caller.NextReplyAsync()).Payload.Span));
        var executions = _cluster.State.Executions;

        await _caller.SendRequestAsync(TestServiceDescriptor.Service, "Echo", "{\"value\":7,\"delayMs\":0}", deadlineUnixMs: DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds(), id: id);
        var again = await _caller.NextReplyAsync();
        Assert.Equal(RpcStatusCode.OK, again.Status);
        Assert.Equal("7", System.Text.Encoding.UTF8.GetString(again.Payload.Span));
        Assert.Equal(executions, _cluster.State.Executions);
    }

    [Fact]
    public async Task ADuplicatedRequest_IsExecutedOnce_AndItsReplyIsSentAgain()
    {
        var id = CorrelationId.NewId();
        await _caller.SendRequestAsync(TestServiceDescriptor.Service, "SideEffect", "{\"key\":\"once\",\"delayMs\":0}", id: id);
        var first = await _caller.NextReplyAsync();
        await _caller.SendRequestAsync(TestServiceDescriptor.Service, "SideEffect", "{\"key\":\"once\",\"delayMs\":0}", id: id);
        var second = await _caller.NextReplyAsync();

        Assert.Equal("1", System.Text.Encoding.UTF8.GetString(first.Payload.Span));
        Assert.Equal("1", System.Text.Encoding.UTF8.GetString(second.Payload.Span));
        Assert.Equal(1, _cluster.State.SideEffects["once"]);
    }

    [Fact]
    public async Task EveryRequestDeliveredTwice_AcrossTwoServers_RunsOnce()
    {
        await using var cluster = new TestCluster();
        var client = await cluster.StartAsync(server: false);
        await cluster.StartAsync(client: false);
        await cluster.StartAsync(client: false);
        cluster.Transport.Faults.DuplicateEveryRequest = true;

        var keys = Enumerable.Range(0, 200).Select(i => "k" + i).ToArray();
        var results = await Task.WhenAll(keys.Select(k => client.Client.SideEffectAsync(k, 20)));

        Assert.All(results, r => Assert.Equal(1, r));
        Assert.All(keys, k => Assert.Equal(1, cluster.State.SideEffects[k]));
    }

    [Fact]
    public async Task AServerErrorMidStream_ArrivesAfterTheItemsAlreadySent()
    {
        var items = new List<int>();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var item in _node.Client.StreamAsync(10, 3, 0))
            {
                items.Add(item);
            }
        });

        Assert.Equal(new[] { 0, 1, 2 }, items);
        Assert.Equal(RpcStatusCode.Aborted, ex.StatusCode);
        Assert.Equal("stream broke at 3", ex.Status.Detail);
    }

    [Fact]
    public async Task StoppingTheConsumer_EndsTheStream_AndReleasesTheWaiter()
    {
        var items = new List<int>();
        await foreach (var item in _node.Client.StreamAsync(1_000, -1, 5))
        {
            items.Add(item);
            if (items.Count == 3)
            {
                break;
            }
        }

        Assert.Equal(new[] { 0, 1, 2 }, items);
        Assert.Equal(0, _node.RpcClient.PendingCount);
    }

    [Fact]
    public async Task CancellingTheStream_ThrowsAndReleasesTheWaiter()
    {
        using var cts = new CancellationTokenSource();
        var items = new List<int>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var item in _node.Client.StreamAsync(1_000, -1, 5, cts.Token))
            {
                items.Add(item);
                if (items.Count == 2)
                {
                    cts.Cancel();
                }
            }
        });

        Assert.Equal(0, _node.RpcClient.PendingCount);
    }

    [Fact]
    public async Task AStreamWaitsForMoreAfterTheFirstMessage()
    {
        // The gate keeps the handler running while the caller has the first items.
        var enumerator = _node.Client.StreamAsync(3, -1, 200).GetAsyncEnumerator();
        Assert.True(await enumerator.MoveNextAsync());
        Assert.Equal(0, enumerator.Current);
        Assert.Equal(1, _node.RpcClient.PendingCount);
        Assert.True(await enumerator.MoveNextAsync());
        Assert.True(await enumerator.MoveNextAsync());
        Assert.False(await enumerator.MoveNextAsync());
        await enumerator.DisposeAsync();
        Assert.Equal(0, _node.RpcClient.PendingCount);
    }
}
