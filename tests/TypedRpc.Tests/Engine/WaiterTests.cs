using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>Each waiter state and timeout policy.</summary>
public sealed class WaiterTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new();
    private TestInstance _node = null!;

    public async Task InitializeAsync() => _node = await _cluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Completed_RemovesTheWaiter()
    {
        Assert.Equal(42, await _node.Client.EchoAsync(42, 0));
        Assert.Equal(0, _node.RpcClient.PendingCount);
    }

    [Fact]
    public async Task TimedOut_ThrowsDeadlineExceededWithTheCorrelationId()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _node.Client.ShortTimeoutAsync(2_000));

        Assert.Equal(RpcStatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.True(CorrelationId.TryParse(ex.CorrelationId, out _));
        Assert.Equal(0, _node.RpcClient.PendingCount);
    }

    [Fact]
    public async Task ExtendByMs_WaitsOnceMore_AndTheLateReplyCompletesTheCall()
    {
        Assert.Equal("extended:800", await _node.Client.ExtendedAsync(800));
    }

    [Fact]
    public async Task ExtendByMs_StillTimesOutAfterTheExtension()
    {
        var watch = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<RpcException>(() => _node.Client.ExtendedAsync(5_000));

        Assert.Equal(RpcStatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.InRange(watch.ElapsedMilliseconds, 1_700, 4_900);
    }

    [Fact]
    public async Task RpcResult_TimesOutAsPending_AndTheLateResultIsFetchedById()
    {
        var result = await _node.Client.ResultAsync(1_200);

        Assert.True(result.IsPending);
        var id = result.CorrelationId!;
        Assert.True((await _node.Results.GetAsync<string>(id)).IsPending);

        var later = await _node.Results.WaitAsync<string>(id, TimeSpan.FromSeconds(5));
        Assert.Equal("result:1200", later.Value);
        Assert.Equal("result:1200", (await _node.Results.GetAsync<string>(id)).Value);
    }

    [Fact]
    public async Task RpcResult_StoresALateFailureToo()
    {
        var result = await _node.Client.ResultAsync(1_100, "bad state");
        var later = await _node.Results.WaitAsync<string>(result.CorrelationId!, TimeSpan.FromSeconds(5));

        Assert.True(later.IsFailed);
        Assert.Equal(RpcStatusCode.FailedPrecondition, later.Status.StatusCode);
    }

    [Fact]
    public async Task WaitAsync_ReturnsPendingWhenNothingArrives()
    {
        var unknown = CorrelationId.NewId().ToString();
        var result = await _node.Results.WaitAsync<string>(unknown, TimeSpan.FromMilliseconds(200));

        Assert.True(result.IsPending);
        await Assert.ThrowsAsync<ArgumentException>(async () => await _node.Results.GetAsync<string>("not-an-id"));
    }

    [Fact]
    public async Task CallOptions_TimeoutOverridesTheMethodsAndDeadlineWorks()
    {
        var timeout = await Assert.ThrowsAsync<RpcException>(() => _node.Client.OptionsAsync(2_000, RpcCallOptions.Default.WithTimeout(TimeSpan.FromMilliseconds(200))));
        Assert.Equal(RpcStatusCode.DeadlineExceeded, timeout.StatusCode);

        var deadline = await Assert.ThrowsAsync<RpcException>(() => _node.Client.OptionsAsync(2_000, RpcCallOptions.Default.WithDeadline(DateTimeOffset.UtcNow.AddMilliseconds(200))));
        Assert.Equal(RpcStatusCode.DeadlineExceeded, deadline.StatusCode);

        var past = await Assert.ThrowsAsync<RpcException>(() => _node.Client.OptionsAsync(0, RpcCallOptions.Default.WithDeadline(DateTimeOffset.UtcNow.AddSeconds(-1))));
        Assert.Equal(RpcStatusCode.DeadlineExceeded, past.StatusCode);

        var headers = new Dictionary<string, string> { ["tenant"] = "t1" };
        Assert.Equal("tenant", await _node.Client.OptionsAsync(0, RpcCallOptions.Default.WithHeaders(headers)));
    }

    [Fact]
    public async Task Cancelled_ThrowsOperationCanceled_AndReleasesTheWaiter()
    {
        using var cts = new CancellationTokenSource(150);

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _node.Client.EchoAsync(1, 5_000, cts.Token));

        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.Equal(0, _node.RpcClient.PendingCount);
    }

    [Fact]
    public async Task AlreadyCancelledToken_FailsBeforeSending()
    {
        var sent = _cluster.Transport.RequestsSent;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _node.Client.EchoAsync(1, 0, new CancellationToken(true)));
        Assert.Equal(sent, _cluster.Transport.RequestsSent);
    }

    [Fact]
    public async Task Failed_WhenTheTransportIsDown_IsUnavailableAtOnce()
    {
        _cluster.Transport.IsDown = true;
        try
        {
            var watch = Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<RpcException>(() => _node.Client.EchoAsync(1, 0));
            Assert.Equal(RpcStatusCode.Unavailable, ex.StatusCode);
            Assert.True(watch.ElapsedMilliseconds < 5_000, "Unavailable must not wait for the deadline.");
            Assert.Equal(0, _node.RpcClient.PendingCount);
        }
        finally
        {
            _cluster.Transport.IsDown = false;
        }

        Assert.Equal(3, await _node.Client.EchoAsync(3, 0));
    }

    [Fact]
    public async Task Failed_WhenTheStoreIsDown_IsUnavailable()
    {
        _cluster.Store.Faults.Unavailable = true;
        try
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => _node.Client.EchoAsync(1, 0));
            Assert.Equal(RpcStatusCode.Unavailable, ex.StatusCode);
        }
        finally
        {
            _cluster.Store.Faults.Unavailable = false;
        }
    }

    [Fact]
    public async Task ASlowStore_IsBoundedByStoreOperationTimeout()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(configure: o => o.StoreOperationTimeout = TimeSpan.FromMilliseconds(200));
        cluster.Store.Faults.OperationDelay = TimeSpan.FromSeconds(10);

        var watch = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<RpcException>(() => node.Client.EchoAsync(1, 0));

        Assert.Equal(RpcStatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("did not record the call", ex.Status.Detail, StringComparison.Ordinal);
        Assert.True(watch.ElapsedMilliseconds < 5_000);
        cluster.Store.Faults.OperationDelay = null;
    }

    [Fact]
    public async Task WithoutAStore_CallsStillWork_WhenConfiguredSo()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(useStore: false);

        Assert.Equal(9, await node.Client.EchoAsync(9, 0));
    }
}
