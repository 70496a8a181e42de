using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Benchmarks.Contract;
using TypedRpc.Benchmarks.Infrastructure;
using TypedRpc.Benchmarks.Kafka;
using TypedRpc.Kafka;

namespace TypedRpc.Benchmarks.Scenarios;

/// <summary>
/// 4. A steady load from the client cluster while one client instance joins, one leaves
/// gracefully and one crashes: latency of the calls around each event, and calls lost.
/// </summary>
public sealed class MembershipScenario : IScenario
{
    public string Name => "membership";

    public string Title => "a client joins, one leaves, one crashes under steady load";

    private sealed record Sample(long StartedAt, double Ms, bool Ok, string Instance);

    public async Task<ScenarioResult> RunAsync(RunSize size, IProgress<string> progress, CancellationToken cancellationToken)
    {
        var full = size == RunSize.Full;
        var routings = full
            ? new[] { ReplyRouting.LeasedPartitions, ReplyRouting.ConsumerGroup, ReplyRouting.Broadcast }
            : new[] { ReplyRouting.LeasedPartitions, ReplyRouting.Broadcast };
        var window = TimeSpan.FromSeconds(full ? 4 : 1);
        const int InFlightPerInstance = 4;
        var result = new ScenarioResult(Name, Title);
        await using var cluster = await BenchCluster.StartAsync();

        progress.Report("starting the server cluster (2 instances)");
        var deployment = cluster.NewDeployment("mem", requestPartitions: 8, replyPartitions: 16);
        await Task.WhenAll(deployment.StartAsync(false, true, new InstanceSettings()), deployment.StartAsync(false, true, new InstanceSettings()));

        foreach (var routing in routings)
        {
            var settings = new InstanceSettings { Routing = routing, ClientGroup = deployment.NewClientGroup("m" + (int)routing), LeaseTimeToLive = TimeSpan.FromSeconds(3) };
            var samples = new List<Sample>();
            var loads = new Dictionary<BenchInstance, (CancellationTokenSource Stop, Task Running)>();
            void StartLoad(BenchInstance instance, string name)
            {
                var stop = new CancellationTokenSource();
                var loops = Enumerable.Range(0, InFlightPerInstance).Select(_ => Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var t0 = Stopwatch.GetTimestamp();
                        var ok = true;
                        try
                        {
                            await instance.Client.QuoteAsync(BenchService.Sample);
                        }
                        catch (Exception)
                        {
                            ok = false;
                        }

                        lock (samples)
                        {
                            samples.Add(new Sample(t0, Stats.Ms(t0, Stopwatch.GetTimestamp()), ok, name));
                        }
                    }
                })).ToArray();
                loads[instance] = (stop, Task.WhenAll(loops));
            }

            var a = await deployment.StartAsync(true, false, settings);
            var b = await deployment.StartAsync(true, false, settings);
            var c = await deployment.StartAsync(true, false, settings);
            BenchInstance? d = null;
            try
            {
                progress.Report($"{routing}: 3 client instances started, warming up");
                await Task.WhenAll(new[] { a, b, c }.Select(i => Load.WarmUpAsync(() => i.Client.QuoteAsync(BenchService.Sample), TimeSpan.FromSeconds(60), 20)));
                StartLoad(a, "A");
                StartLoad(b, "B");
                StartLoad(c, "C");
                var tSteady = Stopwatch.GetTimestamp();
                await Task.Delay(window);

                progress.Report($"{routing}: instance D joins");
                var tJoin = Stopwatch.GetTimestamp();
                d = await deployment.StartAsync(true, false, settings);
                StartLoad(d, "D");
                var joinMs = Stats.Ms(tJoin, Stopwatch.GetTimestamp());
                await Task.Delay(window);

                progress.Report($"{routing}: instance C leaves gracefully");
                var tLeave = Stopwatch.GetTimestamp();
                // A graceful leave: the instance stops calling, lets its own calls finish, then stops.
                loads[c].Stop.Cancel();
                await loads[c].Running;
                await c.StopAsync();
                var leaveMs = Stats.Ms(tLeave, Stopwatch.GetTimestamp());
                await Task.Delay(window);

                progress.Report($"{routing}: instance B crashes");
                var tCrash = Stopwatch.GetTimestamp();
                await b.CrashAsync();
                loads[b].Stop.Cancel();
                var crashMs = Stats.Ms(tCrash, Stopwatch.GetTimestamp());
                await Task.Delay(window);
                var tEnd = Stopwatch.GetTimestamp();

                loads[a].Stop.Cancel();
                loads[d].Stop.Cancel();
                await Task.WhenAll(loads[a].Running, loads[d].Running);

                List<Sample> all;
                lock (samples)
                {
                    all = samples.ToList();
                }

                // The crashed instance's calls still open at the crash die with it in real life
                // (here its waiters outlive the simulated crash): they are not the survivors' and
                // are reported apart. Everything else is a live instance's call and must complete.
                bool Doomed(Sample s) => s.Instance == "B" && s.StartedAt + (long)(s.Ms * Stopwatch.Frequency / 1_000) >= tCrash;
                var survivors = all.Where(s => !Doomed(s)).ToList();
                var lost = survivors.Count(s => !s.Ok);
                var phases = new (string Phase, long From, long To, double EventMs)[]
                {
                    ("steady", tSteady + Stopwatch.Frequency / 4, tJoin, double.NaN),
                    ("join", tJoin, tJoin + (long)(window.TotalSeconds * Stopwatch.Frequency), joinMs),
                    ("graceful leave", tLeave, tLeave + (long)(window.TotalSeconds * Stopwatch.Frequency), leaveMs),
                    ("crash", tCrash, tEnd, crashMs),
                };
                var p99 = new Dictionary<string, double>();
                foreach (var (phase, from, to, eventMs) in phases)
                {
                    // Calls of surviving instances started in the window (the crashed instance's own calls are reported apart).
                    var inWindow = survivors.Where(s => s.StartedAt >= from && s.StartedAt < to).ToList();
                    var stats = Stats.Of(inWindow.Where(s => s.Ok).Select(s => s.Ms).ToList());
                    p99[phase] = stats.P99;
                    var row = result.Row($"{FanOutScenario.Label(routing)}, {phase}").Add("calls", inWindow.Count).Add("failed", inWindow.Count(s => !s.Ok))
                        .Add("p50 ms", stats.P50).Add("p99 ms", stats.P99).Add("max ms", stats.Max);
                    if (!double.IsNaN(eventMs))
                    {
                        row.Add("event ms", eventMs);
                    }
                }

                var crashed = all.Where(Doomed).ToList();
                result.Notes.Add($"{FanOutScenario.Label(routing)}: of the crashed instance's calls open at the crash, {crashed.Count(s => s.Ok)} completed by the end of the window (through adoption or forwarding) and {crashed.Count(s => !s.Ok)} failed; the rest were still waiting (in a real crash they die with the process).");
                result.Claim($"calls lost, {FanOutScenario.Label(routing)}", lost, TargetKind.AtMost, 0);
                if (routing == ReplyRouting.LeasedPartitions)
                {
                    result.Claim("p99 join ÷ steady p99, leases", p99["join"] / p99["steady"], TargetKind.AtMost, 2.0);
                    result.Claim("p99 graceful leave ÷ steady p99, leases", p99["graceful leave"] / p99["steady"], TargetKind.AtMost, 2.0);
                }

                progress.Report($"{routing}: {survivors.Count} calls, {lost} lost");
            }
            finally
            {
                foreach (var (_, load) in loads)
                {
                    load.Stop.Cancel();
                }

                await Task.WhenAll(new[] { a, c, d }.Where(i => i is not null).Select(i => i!.StopAsync().AsTask()));
                // What the crash left of B in this process (its waiters and Redis connection) goes too.
                try
                {
                    await b.Runtime.StopAsync(CancellationToken.None);
                    await b.Provider.DisposeAsync();
                }
                catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
                {
                    // Its transport was already torn down by the crash.
                }
            }
        }

        result.Notes.Add($"3 client instances (A, B, C), {InFlightPerInstance} calls in flight each, 2 server instances, Redis on; then D joins (and calls too), C leaves gracefully (its calls finish first), B crashes (Kafka clients killed: no commit, no lease release). Each window is {window.TotalSeconds:0} s; a row holds the calls the surviving instances started in it.");
        result.Notes.Add("lost: calls of a live instance that failed (timeout or error). event ms: how long the join (start-up) / leave (drain and stop) / crash took.");
        if (!full)
        {
            result.Notes.Add("Smoke size: the consumer-group routing is left out (each of its rebalances on the mock takes seconds).");
        }

        return result;
    }
}
