using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Benchmarks.Contract;
using TypedRpc.Benchmarks.Infrastructure;
using TypedRpc.Benchmarks.Kafka;
using TypedRpc.Kafka;

namespace TypedRpc.Benchmarks.Scenarios;

/// <summary>
/// 3. N client instances calling one server cluster, in each reply routing: how many reply
/// records the client cluster reads per reply, and calls per second.
/// </summary>
public sealed class FanOutScenario : IScenario
{
    private static readonly ReplyRouting[] s_routings = { ReplyRouting.LeasedPartitions, ReplyRouting.ConsumerGroup, ReplyRouting.Broadcast };

    public string Name => "fan-out";

    public string Title => "N client instances: leased partitions vs consumer group vs broadcast";

    public async Task<ScenarioResult> RunAsync(RunSize size, IProgress<string> progress, CancellationToken cancellationToken)
    {
        var (counts, calls, inFlight, passes) = size == RunSize.Full ? (new[] { 1, 2, 4, 8 }, 3_000, 64, 2) : (new[] { 1, 2 }, 100, 16, 1);
        var result = new ScenarioResult(Name, Title);
        await using var cluster = await BenchCluster.StartAsync();
        using var counters = new ReplyCounters();
        var cpu = new CpuMeter(cluster.Redis.Port);
        var idleWindow = TimeSpan.FromSeconds(size == RunSize.Full ? 1 : 0.2);

        var rates = new Dictionary<(ReplyRouting, int), double>();
        var marginalCpu = new Dictionary<(ReplyRouting, int), double>();
        var recordsPerReply = new Dictionary<(ReplyRouting, int), double>();
        foreach (var n in counts)
        {
            // Two passes per N, the second in reverse order, summed: one pass per contender in a
            // fixed order swung broadcast at 8 instances 2x between runs.
            var totals = s_routings.ToDictionary(r => r, _ => new Totals());
            for (var pass = 0; pass < passes; pass++)
            {
                foreach (var routing in pass % 2 == 0 ? s_routings : s_routings.Reverse())
                {
                    await MeasureAsync(cluster, counters, cpu, idleWindow, routing, n, calls, inFlight, totals[routing], progress);
                }
            }

            foreach (var routing in s_routings)
            {
                var total = totals[routing];
                var rate = total.Completed / total.Seconds;
                rates[(routing, n)] = rate;
                var perReply = (double)total.Records / total.Completed;
                var cpuPerThousand = total.CpuSeconds * 1_000 / total.Completed;
                var aboveIdlePerThousand = (total.CpuSeconds - total.IdleCpuSeconds) * 1_000 / total.Completed;
                marginalCpu[(routing, n)] = aboveIdlePerThousand;
                recordsPerReply[(routing, n)] = perReply;
                var stats = Stats.Of(total.Latencies);
                result.Row($"N={n}, {Label(routing)}").Add("calls", total.Completed).Add("failed", total.Failed).Add("records/reply", perReply)
                    .Add("forwarded", total.Forwarded).Add("calls/s", rate).Add("p50 ms", stats.P50).Add("p99 ms", stats.P99)
                    .Add("CPU s/1k calls", cpuPerThousand).Add("above idle", aboveIdlePerThousand);
                if (routing == ReplyRouting.LeasedPartitions)
                {
                    result.Claim($"records per reply, leases, N={n}", perReply, TargetKind.AtMost, 1.0);
                }
            }
        }

        var top = counts[^1];
        result.Claim($"CPU per call above idle, leases ÷ broadcast, N={top}", marginalCpu[(ReplyRouting.LeasedPartitions, top)] / marginalCpu[(ReplyRouting.Broadcast, top)], TargetKind.AtMost, 1 / 3d);
        result.Claim($"calls/s leases ÷ broadcast, N={top}", rates[(ReplyRouting.LeasedPartitions, top)] / rates[(ReplyRouting.Broadcast, top)], TargetKind.AtLeast, 2.0);
        // What broadcast's extra records cost: each instance reads every reply and ignores those not
        // its own. Broadcast's CPU per call is leases' plus (N − 1) such records, so it reaches 3×
        // leases' only where (N − 1) records cost twice a whole call.
        var leases = marginalCpu[(ReplyRouting.LeasedPartitions, top)];
        var perRecord = (marginalCpu[(ReplyRouting.Broadcast, top)] - leases)
            / (recordsPerReply[(ReplyRouting.Broadcast, top)] - recordsPerReply[(ReplyRouting.LeasedPartitions, top)]);
        result.Claim($"CPU per call above idle, leases, N={top}", leases * 1_000, TargetKind.Info, double.NaN, " µs");
        if (perRecord > 0)
        {
            result.Claim($"CPU per extra reply record read, broadcast, N={top}", perRecord * 1_000, TargetKind.Info, double.NaN, " µs");
            result.Claim("N at which broadcast's CPU per call reaches 3× leases'", 1 + 2 * leases / perRecord, TargetKind.Info, double.NaN);
        }
        else
        {
            result.Notes.Add($"At N={top} broadcast's extra reply records cost no CPU this run could tell from leases' (broadcast {marginalCpu[(ReplyRouting.Broadcast, top)]:0.000} ms per call above idle, leases {leases:0.000}).");
        }
        result.Claim($"calls/s consumer group ÷ broadcast, N={top}", rates[(ReplyRouting.ConsumerGroup, top)] / rates[(ReplyRouting.Broadcast, top)], TargetKind.Info, double.NaN);
        result.Notes.Add($"{passes} passes × {calls:N0} calls per contender (the second pass in reverse order, summed), {inFlight} in flight in all, spread evenly over the N client instances. Each contender and N gets a deployment of its own — request topic, reply topic (16 partitions) and 2 server instances, started for it and stopped after — so no contender reads a topic another filled; Redis ownership and claims on.");
        result.Notes.Add("records/reply: reply records read from Kafka by all client instances together (the engine's delivered-direct + forwarded + ignored + stored counters) ÷ calls completed. forwarded: records read by an instance that did not own them and handed over through Redis.");
        result.Notes.Add($"CPU s/1k calls: CPU time of this process (clients, servers, the mock broker) {(cpu.CountsRedis ? "and redis-server " : "")}while the calls ran, per 1,000 calls. above idle: less what the same running instances used with no calls ({idleWindow.TotalSeconds:0.#} s measured before each load; every instance's Kafka clients poll the mock), times the load's duration: the cost each call adds, which is what leased partitions save.");
        return result;
    }

    // One pass of one contender: only its instances run while it is measured — an idle consumer
    // still polls the mock every millisecond and would tax whoever is being measured.
    private static async Task MeasureAsync(BenchCluster cluster, ReplyCounters counters, CpuMeter cpu, TimeSpan idleWindow, ReplyRouting routing, int n, int calls, int inFlight, Totals total, IProgress<string> progress)
    {
        var deployment = cluster.NewDeployment("fan-" + routing.ToString().ToLowerInvariant(), requestPartitions: 8, replyPartitions: 16);
        var settings = new InstanceSettings { Routing = routing };
        var instances = new List<BenchInstance>();
        try
        {
            var serverSettings = new InstanceSettings();
            instances.AddRange(await Task.WhenAll(deployment.StartAsync(false, true, serverSettings), deployment.StartAsync(false, true, serverSettings)));
            var clients = await Task.WhenAll(Enumerable.Range(0, n).Select(_ => deployment.StartAsync(true, false, settings)));
            instances.AddRange(clients);
            progress.Report($"N={n} {routing}: 2 servers and {n} client(s) started, warming up");
            await Task.WhenAll(clients.Select(c => Load.WarmUpAsync(() => c.Client.QuoteAsync(BenchService.Sample), TimeSpan.FromSeconds(60), 20)));
            await cpu.MeasureIdleAsync(idleWindow);
            counters.Reset();

            // The same total load for every contender: calls and calls in flight spread over the N instances.
            var perInstance = calls / n;
            var cpuBefore = cpu.Now();
            var outcomes = await Task.WhenAll(clients.Select(c => Load.RunAsync(perInstance, Math.Max(1, inFlight / n), () => c.Client.QuoteAsync(BenchService.Sample))));
            var cpuUsed = cpu.Now() - cpuBefore;
            // Records a non-owner reads after its owner finished still count; let them land.
            await Task.Delay(300);
            var completed = outcomes.Sum(o => o.Completed);
            var seconds = outcomes.Max(o => o.Seconds);
            total.Completed += completed;
            total.Failed += outcomes.Sum(o => o.Failed);
            total.Seconds += seconds;
            total.Records += counters.RecordsConsumed;
            total.Forwarded += counters.ForwardedOut;
            total.CpuSeconds += cpuUsed;
            total.IdleCpuSeconds += cpu.IdlePerSecond * seconds;
            total.Latencies.AddRange(outcomes.SelectMany(o => o.LatenciesMs));
            progress.Report($"N={n} {routing}: {completed / seconds:0} calls/s, {(double)counters.RecordsConsumed / completed:0.00} records per reply, {cpuUsed * 1e6 / completed:0} µs CPU per call, {outcomes.Sum(o => o.Failed)} failed");
        }
        finally
        {
            await Task.WhenAll(instances.Select(c => c.StopAsync().AsTask()));
        }
    }

    internal static string Label(ReplyRouting routing) => routing switch
    {
        ReplyRouting.LeasedPartitions => "leased partitions",
        ReplyRouting.ConsumerGroup => "consumer group",
        _ => "broadcast",
    };

    private sealed class Totals
    {
        public int Completed;
        public int Failed;
        public double Seconds;
        public long Records;
        public long Forwarded;
        public double CpuSeconds;
        public double IdleCpuSeconds;
        public List<double> Latencies { get; } = new();
    }
}
