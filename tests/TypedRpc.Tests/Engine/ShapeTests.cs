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
    public async Task AwaitingAValueTaskCall_ResumesOnTheCallersSynchronizationContext_AndKeepsItsAsyncLocals()
    {
        // A plain call is its own awaitable: what a caller's await captures must be honoured by it.
        using var context = new CountingContext();
        var local = new AsyncLocal<string>();
        var result = await Task.Factory.StartNew(async () =>
        {
            SynchronizationContext.SetSynchronizationContext(context);
            local.Value = "caller";
            var echoed = await _node.Shapes.EchoAsync("hi", RpcCallOptions.Default);
            return (echoed, SynchronizationContext.Current, local.Value);
        }, CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default).Unwrap();

        Assert.Equal("hi", result.echoed);
        Assert.Same(context, result.Current);
        Assert.Equal("caller", result.Value);
        Assert.True(context.Posts >= 1, "The continuation did not go through the caller's context.");

        // ConfigureAwait(false): the thread pool, not the context.
        var postsBefore = context.Posts;
        var plain = await Task.Factory.StartNew(async () =>
        {
            SynchronizationContext.SetSynchronizationContext(context);
            return await _node.Shapes.EchoAsync("again", RpcCallOptions.Default).ConfigureAwait(false);
        }, CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default).Unwrap();
        Assert.Equal("again", plain);
        Assert.Equal(postsBefore, context.Posts);
    }

    [Fact]
    public async Task ACallAwaitedAfterItEnded_ReturnsAtOnce()
    {
        var call = _node.Shapes.EchoAsync("late", RpcCallOptions.Default);
        while (!call.IsCompleted)
        {
            await Task.Delay(5);
        }

        Assert.Equal("late", await call);
    }

    /// <summary>Runs posted work on the thread pool, counting the posts, and is current while it runs.</summary>
    private sealed class CountingContext : SynchronizationContext, IDisposable
    {
        private int _posts;

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            ThreadPool.QueueUserWorkItem(_ =>
            {
                var previous = Current;
                SetSynchronizationContext(this);
                try
                {
                    d(state);
                }
                finally
                {
                    SetSynchronizationContext(previous);
                }
            });
        }

        public void Dispose()
        {
        }
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
