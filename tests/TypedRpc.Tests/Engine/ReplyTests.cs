using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>Replies that do not fit: unmatched, late, duplicated, undecodable.</summary>
public sealed class ReplyTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new();
    private TestInstance _client = null!;
    private RawPeer _server = null!;

    public async Task InitializeAsync()
    {
        _client = await _cluster.StartAsync(server: false, configure: null);
        _server = new RawPeer(_cluster.Transport);
        await _server.ServeAsync(TestServiceDescriptor.Service);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task AnUndecodableReply_FailsTheCallWithDataLossAtOnce()
    {
        var watch = Stopwatch.StartNew();
        var call = _client.Client.EchoAsync(1, 0);
        var request = await _server.NextRequestAsync();
        await _server.ReplyAsync(request, 0, end: true, json: "{not json");

        var ex = await Assert.ThrowsAsync<RpcException>(() => call);

        Assert.Equal(RpcStatusCode.DataLoss, ex.StatusCode);
        Assert.Equal(request.Id.ToString(), ex.CorrelationId);
        Assert.True(watch.ElapsedMilliseconds < 10_000, "DataLoss must come at once, not at the 30 s deadline.");
    }

    [Fact]
    public async Task AReplyOfTheWrongType_IsDataLoss()
    {
        var call = _client.Client.EchoAsync(1, 0);
        var request = await _server.NextRequestAsync();
        await _server.ReplyAsync(request, 0, end: true, json: "\"text\"");

        Assert.Equal(RpcStatusCode.DataLoss, (await Assert.ThrowsAsync<RpcException>(() => call)).StatusCode);
    }

    [Fact]
    public async Task AnErrorStatusReply_IsThrownWithItsStatus()
    {
        var call = _client.Client.EchoAsync(1, 0);
        var request = await _server.NextRequestAsync();
        await _server.ReplyAsync(request, 0, end: true, json: null, status: RpcStatusCode.ResourceExhausted);

        Assert.Equal(RpcStatusCode.ResourceExhausted, (await Assert.ThrowsAsync<RpcException>(() => call)).StatusCode);
    }

    [Fact]
    public async Task ASecondReply_IsRefusedAndGoesToTheUnmatchedHandler()
    {
        await using var cluster = new TestCluster();
        var handler = new RecordingUnmatchedHandler();
        var node = await StartWithHandlerAsync(cluster, handler);
        await using var server = new RawPeer(cluster.Transport);
        await server.ServeAsync(TestServiceDescriptor.Service);

        var call = node.Client.EchoAsync(1, 0);
        var request = await server.NextRequestAsync();
        await server.ReplyAsync(request, 0, end: true, json: "5");
        await server.ReplyAsync(request, 0, end: true, json: "6");

        Assert.Equal(5, await call);
        await WaitUntil(() => !handler.Received.IsEmpty);
        var (reply, reason) = handler.Received.Single();
        Assert.Equal(request.Id, reply.Id);
        Assert.Contains(reason, new[] { UnmatchedReason.CallEnded, UnmatchedReason.UnknownCall });
    }

    [Fact]
    public async Task AReplyForAnUnknownCall_IsStoredAndHandedToTheHandler()
    {
        await using var cluster = new TestCluster();
        var handler = new RecordingUnmatchedHandler();
        var node = await StartWithHandlerAsync(cluster, handler);
        var id = CorrelationId.NewId();

        await cluster.Transport.SendReplyAsync(node.RpcClient.ReplyAddress,
            new RpcReply { Id = id, IsEnd = true, HasValue = true, Payload = "\"orphan\""u8.ToArray() }, CancellationToken.None);

        await WaitUntil(() => !handler.Received.IsEmpty);
        Assert.Equal(UnmatchedReason.UnknownCall, handler.Received.Single().Reason);
        Assert.Equal("orphan", (await node.Results.GetAsync<string>(id.ToString())).Value);
    }

    [Fact]
    public async Task ALateReply_IsStored_AndFetchedById()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _client.Client.OptionsAsync(0, RpcCallOptions.Default.WithTimeout(TimeSpan.FromMilliseconds(100))));
        var request = await _server.NextRequestAsync();
        Assert.Equal(request.Id.ToString(), ex.CorrelationId);

        await _server.ReplyAsync(request, 0, end: true, json: "\"late\"");

        var result = await _client.Results.WaitAsync<string>(ex.CorrelationId!, TimeSpan.FromSeconds(5));
        Assert.Equal("late", result.Value);
    }

    [Fact]
    public async Task OutOfOrderAndDuplicateStreamMessages_AreDeliveredInOrderOnce()
    {
        var items = new System.Collections.Generic.List<int>();
        var reading = Task.Run(async () =>
        {
            await foreach (var item in _client.Client.StreamAsync(5, -1, 0))
            {
                items.Add(item);
            }
        });
        var request = await _server.NextRequestAsync();

        await _server.ReplyAsync(request, 2, false, "2");
        await _server.ReplyAsync(request, 0, false, "0");
        await _server.ReplyAsync(request, 0, false, "0");
        await _server.ReplyAsync(request, 1, false, "1");
        await _server.ReplyAsync(request, 4, true, null);
        await _server.ReplyAsync(request, 3, false, "3");
        await _server.ReplyAsync(request, 1, false, "1");

        await reading.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new[] { 0, 1, 2, 3 }, items);
        Assert.Equal(0, _client.RpcClient.PendingCount);
    }

    [Fact]
    public async Task AStreamThatGoesQuiet_HitsTheIdleTimeout()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(server: false, configure: o => o.StreamIdleTimeout = TimeSpan.FromMilliseconds(300));
        await using var server = new RawPeer(cluster.Transport);
        await server.ServeAsync(TestServiceDescriptor.Service);

        var items = new System.Collections.Generic.List<int>();
        var reading = Task.Run(async () =>
        {
            await foreach (var item in node.Client.StreamAsync(5, -1, 0))
            {
                items.Add(item);
            }
        });
        var request = await server.NextRequestAsync();
        await server.ReplyAsync(request, 0, false, "0");

        var ex = await Assert.ThrowsAsync<RpcException>(() => reading.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(RpcStatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.Equal(new[] { 0 }, items);
        Assert.Equal(0, node.RpcClient.PendingCount);
    }

    private static Task<TestInstance> StartWithHandlerAsync(TestCluster cluster, RecordingUnmatchedHandler handler) =>
        cluster.StartAsync(server: false, unmatched: handler);

    internal static async Task WaitUntil(Func<bool> condition, int timeoutMs = 5_000)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.ElapsedMilliseconds > timeoutMs)
            {
                throw new TimeoutException("The condition did not become true in time.");
            }

            await Task.Delay(10);
        }
    }
}
