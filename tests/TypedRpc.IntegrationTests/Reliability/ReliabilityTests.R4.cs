using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.DevServices;
using Xunit;

namespace TypedRpc.IntegrationTests.Reliability;

public sealed partial class ReliabilityTests
{
    /// <summary>
    /// Redis is stopped for 5 s under load (a redis-server of the test's own, so this needs
    /// redis-server installed even when TYPEDRPC_REDIS is set). With the default
    /// WhenStoreUnavailable = FailCall, calls fail fast with Unavailable; none waits past its
    /// deadline; the thread pool stays responsive; a client started during the outage starts
    /// (degraded); calls succeed again soon after Redis returns.
    /// </summary>
    [Fact]
    public async Task R4_RedisStoppedFor5sUnderLoad_CallsFailFastWithUnavailable_ThenSucceedSoonAfterItReturns()
    {
        await using var server = await LocalRedisServer.StartAsync();
        await using var cluster = new ReliabilityCluster(server.Configuration);
        for (var i = 0; i < 3; i++)
        {
            await cluster.StartAsync(client: false, server: true);
        }

        var clients = new IServiceProvider[3];
        for (var i = 0; i < 3; i++)
        {
            clients[i] = await cluster.StartAsync(client: true, server: false);
        }

        await cluster.WaitForServersAsync(Settle);
        await WarmUpAsync(clients);

        var timeout = TimeSpan.FromSeconds(5);
        var load = new SteadyLoad(clients, workers: 24, timeout);
        var calls = load.Calls;
        var clock = load.Clock;

        await Task.Delay(2_000);
        var down = clock.Elapsed.TotalMilliseconds;
        await server.StopAsync();

        // A client instance started while Redis is down starts (degraded) and works once Redis returns.
        var startClock = Stopwatch.StartNew();
        var late = await cluster.StartAsync(client: true, server: false);
        var lateStart = startClock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(5) - TimeSpan.FromMilliseconds(clock.Elapsed.TotalMilliseconds - down));
        var upStarted = clock.Elapsed.TotalMilliseconds;
        await server.StartAgainAsync();
        var up = clock.Elapsed.TotalMilliseconds;
        await Task.Delay(5_000);
        await load.StopAsync();
        var lateClientWorks = await Service(late).ProcessAsync(0, RpcCallOptions.Default.WithTimeout(TimeSpan.FromSeconds(10)));

        var during = calls.Where(c => c.Start >= down + 1_500 && c.Start < upStarted).ToArray();
        var firstOkAfter = calls.Where(c => c.Status == RpcStatusCode.OK && c.Start >= up).Select(c => c.End).DefaultIfEmpty(double.NaN).Min();
        var recoveredMs = firstOkAfter - up;
        var lastSecond = calls.Where(c => c.Start >= up + 3_000).ToArray();
        var pastDeadline = calls.Count(c => c.End - c.Start > timeout.TotalMilliseconds + 2_000);
        var failures = calls.Where(c => c.Status != RpcStatusCode.OK).ToArray();
        var failureLatencies = failures.Select(c => c.End - c.Start).OrderBy(x => x).ToArray();
        var maxLate = load.Lateness.Select(l => l.Late).DefaultIfEmpty(0).Max();
        Print("R4", $"{calls.Count} calls; Redis down {upStarted - down:0} ms; outcomes: "
            + string.Join(", ", calls.GroupBy(c => c.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}")));
        Print("R4", $"during the outage: {during.Length} calls, {during.Count(c => c.Status == RpcStatusCode.Unavailable)} Unavailable, {during.Count(c => c.Status == RpcStatusCode.OK)} OK; "
            + $"failed calls ended within p50 {Pct(failureLatencies, 50):0} ms, p99 {Pct(failureLatencies, 99):0} ms, max {Pct(failureLatencies, 100):0} ms (deadline {timeout.TotalMilliseconds:0} ms); past deadline + 2 s: {pastDeadline}");
        Print("R4", $"first success {recoveredMs:0} ms after redis-server answered again; calls from 3 s after: {lastSecond.Length}, OK {lastSecond.Count(c => c.Status == RpcStatusCode.OK)}; "
            + $"thread-pool timer lateness max {maxLate:0} ms; a client started during the outage started in {lateStart.TotalMilliseconds:0} ms and later answered ({lateClientWorks.Split('|')[0]})");

        Assert.Equal(0, pastDeadline);
        Assert.DoesNotContain(calls, c => c.Other is not null);
        Assert.NotEmpty(during);
        Assert.All(during, c => Assert.Equal(RpcStatusCode.Unavailable, c.Status));
        Assert.All(failures, c => Assert.True(c.Status is RpcStatusCode.Unavailable or RpcStatusCode.DeadlineExceeded, c.Status.ToString()));
        Assert.True(Pct(failureLatencies, 99) < timeout.TotalMilliseconds, "Failures must come well before the deadline.");
        Assert.InRange(recoveredMs, 0, 2_000);
        Assert.NotEmpty(lastSecond);
        Assert.All(lastSecond, c => Assert.Equal(RpcStatusCode.OK, c.Status));
        Assert.True(maxLate < 1_000, $"The thread pool starved: a 20 ms timer fired {maxLate:0} ms late.");
    }

    private static double Pct(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p / 100 * sorted.Length) - 1))];
}
