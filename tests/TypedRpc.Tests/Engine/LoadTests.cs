using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>Many calls at once: correctness under load, limits, and an empty table afterwards.</summary>
public sealed class LoadTests
{
    [Fact]
    public async Task TenThousandConcurrentCalls_WithRandomServerDelays_AllCompleteWithTheirOwnResults()
    {
        await using var cluster = new TestCluster();
        var client = await cluster.StartAsync(server: false);
        await cluster.StartAsync(client: false, configure: o => o.MaxConcurrentRequests = 2_000);
        await cluster.StartAsync(client: false, configure: o => o.MaxConcurrentRequests = 2_000);
        var random = new Random(7);
        var delays = Enumerable.Range(0, 10_000).Select(_ => random.Next(0, 30)).ToArray();

        var results = await Task.WhenAll(Enumerable.Range(0, 10_000).Select(i => client.Client.EchoAsync(i, delays[i])));

        Assert.Equal(Enumerable.Range(0, 10_000), results);
        Assert.Equal(0, client.RpcClient.PendingCount);
    }

    [Fact]
    public async Task AHundredThousandCallsThatAllTimeOut_LeaveThePendingTableEmpty()
    {
        await using var cluster = new TestCluster();
        // No server, no store: every call waits for its deadline and nothing else.
        var client = await cluster.StartAsync(server: false, useStore: false, configure: o => o.MaxPendingCalls = 200_000);
        var options = RpcCallOptions.Default.WithTimeout(TimeSpan.FromMilliseconds(300));

        var calls = new Task[100_000];
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i] = client.Client.OptionsAsync(0, options);
        }

        Assert.True(client.RpcClient.PendingCount > 0);
        foreach (var call in calls)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => (Task)call);
            Assert.Equal(RpcStatusCode.DeadlineExceeded, ex.StatusCode);
        }

        Assert.Equal(0, client.RpcClient.PendingCount);
    }

    [Fact]
    public async Task TheInFlightCap_FailsFastWhenConfiguredSo()
    {
        await using var cluster = new TestCluster();
        var client = await cluster.StartAsync(configure: o => { o.MaxPendingCalls = 2; o.WhenPendingCallsFull = PendingCallLimitMode.Fail; });

        var first = client.Client.WaitForGateAsync("cap-a");
        var second = client.Client.WaitForGateAsync("cap-b");
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.Client.EchoAsync(1, 0));

        Assert.Equal(RpcStatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("MaxPendingCalls", ex.Status.Detail, StringComparison.Ordinal);
        cluster.State.Gate("cap-a").SetResult();
        cluster.State.Gate("cap-b").SetResult();
        await Task.WhenAll(first, second);
        Assert.Equal(5, await client.Client.EchoAsync(5, 0));
    }

    [Fact]
    public async Task TheInFlightCap_WaitsForASlotWhenConfiguredSo()
    {
        await using var cluster = new TestCluster();
        var client = await cluster.StartAsync(configure: o => { o.MaxPendingCalls = 1; o.WhenPendingCallsFull = PendingCallLimitMode.Wait; });

        var first = client.Client.WaitForGateAsync("wait-a");
        var second = client.Client.EchoAsync(8, 0);
        await Task.Delay(100);
        Assert.False(second.IsCompleted);

        cluster.State.Gate("wait-a").SetResult();
        Assert.Equal("opened:wait-a", await first);
        Assert.Equal(8, await second);
    }
}
