using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.IntegrationTests.Reliability;

public sealed partial class ReliabilityTests
{
    /// <summary>
    /// The Kafka broker is taken down under load (the mock cluster's fault injection: connections
    /// closed, new ones refused) for several seconds, then brought back. Calls end with an explicit
    /// status (DeadlineExceeded or Unavailable) by their deadline, nothing crashes, nothing runs
    /// twice, and calls succeed again once the broker is back. Against a real broker
    /// (TYPEDRPC_KAFKA_BOOTSTRAP) there is no fault injection: the test says so and checks nothing.
    /// </summary>
    [Fact]
    public async Task R5_KafkaBrokerDownAndUpUnderLoad_ExplicitStatuses_NoCrash_Recovers()
    {
        var outage = TimeSpan.FromSeconds(ReliabilitySize.Pick(10, 5));
        await using var cluster = new ReliabilityCluster(redis.Configuration);
        if (cluster.Kafka is null)
        {
            Print("R5", "not run: a real broker (TYPEDRPC_KAFKA_BOOTSTRAP) cannot be taken down by the test");
            return;
        }

        for (var i = 0; i < 3; i++)
        {
            await cluster.StartAsync(client: false, server: true);
        }

        var clients = new IServiceProvider[2];
        for (var i = 0; i < clients.Length; i++)
        {
            clients[i] = await cluster.StartAsync(client: true, server: false);
        }

        await cluster.WaitForServersAsync(Settle);
        await WarmUpAsync(clients);
        cluster.Effects.Clear();

        var timeout = TimeSpan.FromSeconds(1);
        var load = new SteadyLoad(clients, workers: 32, timeout);
        var calls = load.Calls;
        var lateness = load.Lateness;
        var clock = load.Clock;

        await Task.Delay(2_000);
        var down = clock.Elapsed.TotalMilliseconds;
        cluster.Kafka.SetBrokerDown(1);
        await Task.Delay(outage);
        cluster.Kafka.SetBrokerUp(1);
        var up = clock.Elapsed.TotalMilliseconds;

        // Recovered: 2 s in a row in which every call that started succeeded (or 60 s without that).
        double recovered = double.NaN;
        while (clock.Elapsed.TotalMilliseconds < up + 60_000)
        {
            await Task.Delay(250);
            var now = clock.Elapsed.TotalMilliseconds;
            var lastFailureStart = calls.Where(c => c.Status != RpcStatusCode.OK && c.Start >= up).Select(c => c.Start).DefaultIfEmpty(up).Max();
            if (now - lastFailureStart > 2_000 + timeout.TotalMilliseconds && calls.Any(c => c.Status == RpcStatusCode.OK && c.Start > lastFailureStart))
            {
                recovered = calls.Where(c => c.Status == RpcStatusCode.OK && c.Start >= lastFailureStart).Min(c => c.End) - up;
                break;
            }
        }

        await Task.Delay(2_000);
        await load.StopAsync();
        await Task.Delay(1_000);

        // Calls that started with the broker down and whose deadline came before it returned.
        var during = calls.Where(c => c.Start >= down && c.Start + timeout.TotalMilliseconds <= up).ToArray();
        var firstOk = calls.Where(c => c.Status == RpcStatusCode.OK && c.Start >= up).Select(c => c.End - up).DefaultIfEmpty(double.NaN).Min();
        var pastDeadline = calls.Count(c => c.End - c.Start > timeout.TotalMilliseconds + 2_000);
        var tail = calls.Where(c => !double.IsNaN(recovered) && c.Start >= up + recovered).ToArray();
        var twice = cluster.Effects.Count(kv => kv.Value > 1);
        var failures = calls.Where(c => c.Status != RpcStatusCode.OK).Select(c => c.End - c.Start).OrderBy(x => x).ToArray();
        var okLatencies = calls.Where(c => c.Status == RpcStatusCode.OK).Select(c => c.End - c.Start).OrderBy(x => x).ToArray();
        Print("R5", cluster.Settings.DescribeKnobs());
        Print("R5", $"{calls.Count} calls; broker down {up - down:0} ms; outcomes: "
            + string.Join(", ", calls.GroupBy(c => c.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}")));
        Print("R5", $"during the outage: {during.Length} calls, all failed: {during.All(c => c.Status != RpcStatusCode.OK)} "
            + $"({string.Join(", ", during.GroupBy(c => c.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}"))}); "
            + $"failed calls ended within p50 {Pct(failures, 50):0} ms, max {Pct(failures, 100):0} ms (deadline {timeout.TotalMilliseconds:0} ms); past deadline + 2 s: {pastDeadline}");
        Print("R5", $"OK calls ended within p50 {Pct(okLatencies, 50):0} ms, p99 {Pct(okLatencies, 99):0} ms, max {Pct(okLatencies, 100):0} ms");
        Print("R5", $"first success {firstOk:0} ms after the broker came back; every call succeeds from {recovered:0} ms after ({tail.Length} calls since, "
            + $"{tail.Count(c => c.Status == RpcStatusCode.OK)} OK); ids run more than once: {twice}; thread-pool timer lateness max {lateness.Max(l => l.Late):0} ms (at {lateness.MaxBy(l => l.Late).At - down:0} ms after the broker went down)");

        var timeline = calls.Where(c => c.Start >= down - 1_000).GroupBy(c => (int)Math.Floor((c.Start - down) / 1_000)).OrderBy(g => g.Key)
            .Select(g => $"{g.Key}s {g.Count(c => c.Status != RpcStatusCode.OK)}/{g.Count()}");
        Print("R5", "failed/started per second from the broker going down: " + string.Join(", ", timeline));

        Assert.DoesNotContain(calls, c => c.Other is not null);
        Assert.Equal(0, pastDeadline);
        Assert.NotEmpty(during);
        Assert.All(during, c => Assert.NotEqual(RpcStatusCode.OK, c.Status));
        Assert.All(calls.Where(c => c.Status != RpcStatusCode.OK), c => Assert.True(c.Status is RpcStatusCode.DeadlineExceeded or RpcStatusCode.Unavailable, c.Status.ToString()));
        Assert.False(double.IsNaN(recovered), "Calls did not succeed steadily within 60 s of the broker's return.");
        // The server group rejoins after its sessions expired (~3 s on the mock with librdkafka 2.0.2,
        // whose groups waited a 3 s initial rebalance delay; EmbeddedKafka's now wait none); each further round
        // costs ~2 s when the mock refuses a follower's late SyncGroup (a mock quirk: a real broker
        // hands it its assignment). A rebalance storm (librdkafka #4059 with cooperative members,
        // before range became the default) lasted 7-60 s and shows here.
        Assert.True(recovered <= 15_000, $"Calls succeeded steadily only {recovered:0} ms after the broker's return.");
        Assert.NotEmpty(tail);
        Assert.Equal(0, twice);
        // Starvation (threads blocked on a dead broker) would show as seconds of lateness that grow
        // with the outage; single spikes up to ~1 s occur on these 2-core machines with or without
        // the outage (seen before the broker went down too), so the bound is 2 s.
        Assert.True(lateness.Max(l => l.Late) < 2_000, "The thread pool starved.");
    }
}
