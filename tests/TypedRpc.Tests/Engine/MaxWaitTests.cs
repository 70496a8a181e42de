using System;
using System.Diagnostics;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// <see cref="RpcCallOptions.MaxWait"/>: the caller stops waiting before the deadline, the server
/// still runs the request, and the result is fetched later by id.
/// </summary>
public sealed class MaxWaitTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new();
    private TestInstance _instance = null!;

    public async Task InitializeAsync() => _instance = await _cluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task AShortWait_ReturnsPending_AndTheResultArrivesLater()
    {
        var watch = Stopwatch.StartNew();
        var result = await _instance.Client.SlowResultAsync(600, RpcCallOptions.Default.WithMaxWait(TimeSpan.FromMilliseconds(100)));

        Assert.True(result.IsPending, result.ToString());
        Assert.InRange(watch.ElapsedMilliseconds, 90, 550);
        var later = await _instance.Results.WaitAsync<string>(result.CorrelationId!, TimeSpan.FromSeconds(5));
        Assert.True(later.IsCompleted, later.ToString());
        Assert.Equal("slow:600", later.Value);
        Assert.Equal(1, _cluster.State.Executions);
        Assert.Equal(0, _instance.RpcClient.PendingCount);
    }

    [Fact]
    public async Task ZeroWait_ReturnsPendingOnceSent_AndTheServerStillRunsIt()
    {
        var result = await _instance.Client.SlowResultAsync(200, RpcCallOptions.Default.WithMaxWait(TimeSpan.Zero));

        Assert.True(result.IsPending, result.ToString());
        var later = await _instance.Results.WaitAsync<string>(result.CorrelationId!, TimeSpan.FromSeconds(5));
        Assert.Equal("slow:200", later.Value);
    }

    [Fact]
    public async Task AWaitLongerThanTheWork_CompletesAsUsual()
    {
        var result = await _instance.Client.SlowResultAsync(20, RpcCallOptions.Default.WithMaxWait(TimeSpan.FromSeconds(3)));

        Assert.True(result.IsCompleted, result.ToString());
        Assert.Equal("slow:20", result.Value);
    }

    [Fact]
    public async Task ATaskMethod_ThrowsDeadlineExceededWithTheId_AndItsResultIsStored()
    {
        var options = RpcCallOptions.Default.WithTimeout(TimeSpan.FromSeconds(5)).WithMaxWait(TimeSpan.FromMilliseconds(50));
        var ex = await Assert.ThrowsAsync<RpcException>(() => _instance.Client.OptionsAsync(300, options));

        Assert.Equal(RpcStatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.NotNull(ex.CorrelationId);
        var later = await _instance.Results.WaitAsync<string>(ex.CorrelationId!, TimeSpan.FromSeconds(5));
        Assert.True(later.IsCompleted, later.ToString());
    }

    [Fact]
    public void ANegativeWait_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RpcCallOptions.Default.WithMaxWait(TimeSpan.FromMilliseconds(-1)));
        Assert.Null(RpcCallOptions.Default.WithMaxWait(TimeSpan.FromSeconds(1)).WithMaxWait(null).MaxWait);
        Assert.Equal(TimeSpan.FromSeconds(1), RpcCallOptions.Default.WithMaxWait(TimeSpan.FromSeconds(1)).WithTimeout(TimeSpan.FromSeconds(2)).MaxWait);
    }
}
