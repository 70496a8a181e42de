using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Tests.Generated;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>Every method shape, through the generated proxy and server base, over the in-memory transport.</summary>
public sealed class ShapeTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new();
    private TestInstance _node = null!;

    public async Task InitializeAsync() => _node = await _cluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task TaskAndValueTaskWithoutResult_CompleteOnTheAcknowledgement()
    {
        await _node.Shapes.PingAsync();
        await _node.Shapes.TouchAsync("door", CancellationToken.None);
    }

    [Fact]
    public async Task TaskOfT_AndValueTaskOfT_ReturnTheReply()
    {
        Assert.Equal(7, await _node.Shapes.AddAsync(3, 4));
        Assert.Equal("hi", await _node.Shapes.EchoAsync("hi", RpcCallOptions.Default));
        Assert.Null(await _node.Shapes.EchoAsync(null, RpcCallOptions.Default));
    }

    [Fact]
    public async Task RpcResultShapes_ReturnCompletedAndFailed()
    {
        var payload = new Payload("p", new[] { 1 }, new Dictionary<string, decimal>(), Region.Asia, Guid.Empty, DateTime.UnixEpoch, DateTimeOffset.UnixEpoch, TimeSpan.Zero, 1m, new byte[] { 1 }, null);
        var id = Guid.NewGuid();

        var ok = await _node.Shapes.RoundTripAsync(id, payload);
        var failed = await _node.Shapes.RoundTripAsync(id, payload with { Name = "fail" });
        var range = await _node.Shapes.RangeAsync(5, 2);

        Assert.Equal(id, ok.Value.Id);
        Assert.NotNull(ok.CorrelationId);
        Assert.True(failed.IsFailed);
        Assert.Equal(RpcStatusCode.FailedPrecondition, failed.Status.StatusCode);
        Assert.Equal(new[] { 5, 6 }, range.Value);
    }

    [Fact]
    public async Task Streams_DeliverEveryItemInOrder()
    {
        var items = new List<int>();
        await foreach (var item in _node.Shapes.CountAsync(Region.Europe, 50))
        {
            items.Add(item);
        }

        Assert.Equal(50, items.Count);
        Assert.Equal(1, items[0]);
        Assert.Equal(50, items[^1]);
        Assert.Equal(0, _node.RpcClient.PendingCount);
    }

    [Fact]
    public async Task DefaultsAndKeywords_CrossTheWire()
    {
        Assert.Equal(new[] { "<null>", "2", "1.5", "Asia", "x\"y" }, await _node.Shapes.OptionalAsync());
        Assert.Equal("a|1|b|c|d|Keywords", await _node.Shapes.KeywordsAsync("a", 1, "b", "c", "d"));
    }
}
