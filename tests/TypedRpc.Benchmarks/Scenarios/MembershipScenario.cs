using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
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

    /// <summary>
    /// The lease time to live of this run (renewed every quarter of it): adoption of a crashed
    /// instance's partition cannot come sooner than its lease's expiry, and 1 s is the target.
    /// </summary>
    private static readonly TimeSpan LeaseTimeToLive = TimeSpan.FromMilliseconds(750);

    private static readonly string[] Others = { "A", "B", "C" };

    private sealed record Sample(long StartedAt, double Ms, bool Ok, string Instance);

    /// <summary>When a crashed instance's partitions left its hands and were adopted, in ms after the crash (NaN: not seen).</summary>
    private readonly record struct Adoption(double ExpiredMs, double AdoptedMs);

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
            var settings = new InstanceSettings { Routing = routing, ClientGroup = deployment.NewClientGroup("m" + (int)routing), LeaseTimeToLive = LeaseTimeToLive };
            var leased = routing == ReplyRouting.LeasedPartitions;
            using var leaseLosses = new LeaseLosses();
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
                var joinMs = Stats.Ms(tJoin, Stopwatch.GetTimestamp());

                // D's start-up is over once its start returned, it is ready and (leases) it holds its
                // reply partition: the join window starts here, so D's own start-up (in this process
                // it takes CPU from the others, as it would not on a machine of its own) is left out.
                await d.Provider.GetRequiredService<IRpcReadiness>().WaitUntilReadyAsync(cancellationToken);
                if (leased && (await HeldByAsync(a, InstanceId(d), cancellationToken)).Length == 0)
                {
                    result.Notes.Add($"{FanOutScenario.Label(routing)}: D held no reply-partition lease when its start returned (it shares a partition).");
                }

                var tReady = Stopwatch.GetTimestamp();
                StartLoad(d, "D");

                // The window after D's start is halved: the join's first half, steady at 4 instances
                // the second, so the leave comes no later in the run (latency drifts up over it).
                await Task.Delay(window / 2);
                var tSteady4 = Stopwatch.GetTimestamp();
                await Task.Delay(window / 2);

                progress.Report($"{routing}: instance C leaves gracefully");
                var tLeave = Stopwatch.GetTimestamp();
                // A graceful leave: the instance stops calling, lets its own calls finish, then stops.
                loads[c].Stop.Cancel();
                await loads[c].Running;
                await c.StopAsync();
                var leaveMs = Stats.Ms(tLeave, Stopwatch.GetTimestamp());
                await Task.Delay(window);

                progress.Report($"{routing}: instance B crashes");
                var crashed = leased ? await HoldingAsync(a, InstanceId(b), cancellationToken) : Array.Empty<int>();
                if (leased && crashed.Length == 0)
                {
                    result.Notes.Add($"{FanOutScenario.Label(routing)}: B held no reply partition when it crashed (its leases were lost to late renewals and not won back within 5 s), so there was nothing to adopt.");
                }

                var tCrash = Stopwatch.GetTimestamp();
                var adoption = leased ? WatchAdoptionAsync(a, InstanceId(b), crashed, tCrash, cancellationToken) : Task.FromResult(new Adoption(double.NaN, double.NaN));
                // Bounded: librdkafka's teardown of a consumer-group member killed without Close
                // can spin against the mock (seen once in six full runs); the run goes on without it.
                if (!await FinishesWithinAsync(Task.Run(b.CrashAsync), CrashWait))
                {
                    result.Notes.Add($"{FanOutScenario.Label(routing)}: the crash's Kafka teardown did not finish within {CrashWait.TotalSeconds:0} s; the run went on without it.");
                }

                loads[b].Stop.Cancel();
                var crashMs = Stats.Ms(tCrash, Stopwatch.GetTimestamp());
                await Task.Delay(window);
                var tEnd = Stopwatch.GetTimestamp();
                var adopted = await adoption;

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
                long After(long from, TimeSpan span) => from + (long)(span.TotalSeconds * Stopwatch.Frequency);
                var phases = new (string Phase, long From, long To, string[]? Instances, double EventMs)[]
                {
                    ("steady", tSteady + Stopwatch.Frequency / 4, tJoin, Others, double.NaN),
                    ("D starting (A, B, C)", tJoin, tReady, Others, double.NaN),
                    ("join (A, B, C)", tReady, tSteady4, Others, joinMs),
                    ("steady, 4 instances (A, B, C)", tSteady4, tLeave, Others, double.NaN),
                    ("graceful leave", tLeave, After(tLeave, window), null, leaveMs),
                    ("crash", tCrash, tEnd, null, crashMs),
                };
                var p99 = new Dictionary<string, double>();
                foreach (var (phase, from, to, instances, eventMs) in phases)
                {
                    // Calls of surviving instances started in the window (the crashed instance's own
                    // calls are reported apart); around the join, only the calls of the instances
                    // already there (the joiner's first calls are its start-up's).
                    var inWindow = survivors.Where(s => s.StartedAt >= from && s.StartedAt < to && (instances is null || instances.Contains(s.Instance))).ToList();
                    var stats = Stats.Of(inWindow.Where(s => s.Ok).Select(s => s.Ms).ToList());
                    p99[phase] = stats.P99;
                    var row = result.Row($"{FanOutScenario.Label(routing)}, {phase}").Add("calls", inWindow.Count).Add("failed", inWindow.Count(s => !s.Ok))
                        .Add("p50 ms", stats.P50).Add("p99 ms", stats.P99).Add("max ms", stats.Max);
                    if (!double.IsNaN(eventMs))
                    {
                        row.Add("event ms", eventMs);
                    }

                    if (phase == "crash" && leased)
                    {
                        row.Add("lease gone ms", adopted.ExpiredMs).Add("adopted ms", adopted.AdoptedMs);
                    }
                }

                var doomed = all.Where(Doomed).ToList();
                result.Notes.Add($"{FanOutScenario.Label(routing)}: of the crashed instance's calls open at the crash, {doomed.Count(s => s.Ok)} completed by the end of the window (through adoption or forwarding) and {doomed.Count(s => !s.Ok)} failed; the rest were still waiting (in a real crash they die with the process).");
                result.Claim($"calls lost, {FanOutScenario.Label(routing)}", lost, TargetKind.AtMost, 0);
                if (routing == ReplyRouting.LeasedPartitions)
                {
                    result.Claim("p99 join ÷ steady p99 (3 instances), leases", p99["join (A, B, C)"] / p99["steady"], TargetKind.AtMost, 2.0);
                    result.Claim("p99 join ÷ steady p99 (4 instances), leases", p99["join (A, B, C)"] / p99["steady, 4 instances (A, B, C)"], TargetKind.Info, double.NaN);
                    result.Claim("p99 graceful leave ÷ steady p99, leases", p99["graceful leave"] / p99["steady"], TargetKind.AtMost, 2.0);
                    result.Claim("p99 graceful leave ÷ steady p99 (4 instances, just before), leases", p99["graceful leave"] / p99["steady, 4 instances (A, B, C)"], TargetKind.Info, double.NaN);
                    if (crashed.Length > 0)
                    {
                        result.Claim("crash adopted within, leases", adopted.AdoptedMs, TargetKind.AtMost, 1_000, " ms");
                    }

                    result.Notes.Add($"{FanOutScenario.Label(routing)}: reply-partition leases lost by live instances during the run (a renewal later than the time to live): {leaseLosses.Count}.");
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
                    await FinishesWithinAsync(Task.Run(async () =>
                    {
                        await b.Runtime.StopAsync(CancellationToken.None);
                        await b.Provider.DisposeAsync();
                    }), CrashWait);
                }
                catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
                {
                    // Its transport was already torn down by the crash.
                }
            }
        }

        result.Notes.Add($"3 client instances (A, B, C), {InFlightPerInstance} calls in flight each, 2 server instances, Redis on; then D joins (and calls too), C leaves gracefully (its calls finish first), B crashes (Kafka clients killed: no commit, no lease release). Each window is {window.TotalSeconds:0} s (the join's and steady at 4 instances half that); a row holds the calls the surviving instances started in it.");
        result.Notes.Add("lost: calls of a live instance that failed (timeout or error). event ms: how long the join (D's start-up) / leave (drain and stop) / crash took.");
        result.Notes.Add("Join: \"D starting\" holds A's, B's and C's calls while D starts (in this process, so D's start-up takes their CPU); the join window starts once D's start returned, it is ready and holds its reply-partition lease, and holds A's, B's and C's calls only (D's first calls are its own start-up). The join window is the first half of the window after D's start, \"steady, 4 instances\" (same instances) the second. "
            + "The join target compares the join window with steady at 3 instances, as the issue words it; that baseline is the stricter one, since on 2 cores the load is CPU-bound and 16 calls in flight instead of 12 raise every call's latency by themselves. "
            + "Steady at 4 instances is shown beside it but is no clean baseline: latency rises over the run whatever the events (the mock finds a fetch's records by a linear search, so it slows as its partitions fill; and the machine is shared), and it has come out level with the join window or above it. The graceful leave (3 instances left) is compared with steady at 3, and with steady at 4 just before it. "
            + "With the consumer group, D's start includes its group join, whose rebalance pauses every instance's replies: that stall is in the \"D starting\" row, which is why the row is kept.");
        result.Notes.Add($"Crash adoption: lease time to live {LeaseTimeToLive.TotalMilliseconds:0} ms, renewed every {LeaseTimeToLive.TotalMilliseconds / 4:0} ms (product default 10 s / 3 s). The crashed instance's lease keys are polled in Redis every 5 ms from the crash: lease gone ms is when it no longer held them (its lease ran out, or was adopted between two polls), adopted ms when a survivor held them all. "
            + "Adoption ≈ what was left of the lease at the crash (time to live − time since its last renewal; renewals come every renew interval + one orphan check, so under load it can be less than time to live − renew interval) + the wait for a survivor's next orphan check (each survivor checks once per renew interval, after its sleep) + that check's own time (a Redis read per partition and two broker look-ups per unleased partition). It cannot beat the lease's expiry, so meeting 1 s needs a time to live well under 1 s: with 1 s the lease alone would last 750–1,000 ms after the crash. "
            + "A short time to live is sound only while renewals keep up: the note on leases lost by live instances says whether any renewal came late.");
        if (!full)
        {
            result.Notes.Add("Smoke size: the consumer-group routing is left out (each of its rebalances on the mock takes seconds).");
        }

        return result;
    }

    private static string InstanceId(BenchInstance instance) => instance.Provider.GetRequiredService<IOptions<TypedRpcOptions>>().Value.InstanceId;

    /// <summary>
    /// The reply partitions <paramref name="holder"/> leases, waiting up to 5 s for it to hold at least
    /// one: on a stalled machine a renewal later than the short time to live loses its leases to the
    /// others, and the balancing gives it a share back only at their next checks.
    /// </summary>
    private static async Task<int[]> HoldingAsync(BenchInstance reader, string holder, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            var held = await HeldByAsync(reader, holder, cancellationToken);
            if (held.Length > 0 || Stats.Ms(start, Stopwatch.GetTimestamp()) > 5_000)
            {
                return held;
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>The reply partitions <paramref name="holder"/> leases, read from Redis through <paramref name="reader"/>'s lease store.</summary>
    private static async Task<int[]> HeldByAsync(BenchInstance reader, string holder, CancellationToken cancellationToken)
    {
        var leases = reader.Provider.GetRequiredService<IReplyPartitionLeaseStore>();
        var options = reader.Transport.Options;
        var held = new List<int>();
        for (var partition = 0; partition < options.ReplyPartitions; partition++)
        {
            if (await leases.GetHolderAsync(options.ClientGroup, partition, cancellationToken) == holder)
            {
                held.Add(partition);
            }
        }

        return held.ToArray();
    }

    /// <summary>
    /// Polls the crashed instance's lease keys every 5 ms (at most 10 s) from the crash until a
    /// survivor holds every one of them.
    /// </summary>
    private static async Task<Adoption> WatchAdoptionAsync(BenchInstance reader, string crashed, int[] partitions, long tCrash, CancellationToken cancellationToken)
    {
        var leases = reader.Provider.GetRequiredService<IReplyPartitionLeaseStore>();
        var group = reader.Transport.Options.ClientGroup;
        var gone = new HashSet<int>();
        var adopted = new HashSet<int>();
        var expiredMs = double.NaN;
        while (partitions.Length > 0 && Stats.Ms(tCrash, Stopwatch.GetTimestamp()) < 10_000)
        {
            foreach (var partition in partitions)
            {
                var holder = await leases.GetHolderAsync(group, partition, cancellationToken);
                if (holder != crashed && gone.Add(partition) && gone.Count == partitions.Length)
                {
                    expiredMs = Stats.Ms(tCrash, Stopwatch.GetTimestamp());
                }

                if (holder is not null && holder != crashed && adopted.Add(partition) && adopted.Count == partitions.Length)
                {
                    return new Adoption(expiredMs, Stats.Ms(tCrash, Stopwatch.GetTimestamp()));
                }
            }

            await Task.Delay(5, cancellationToken);
        }

        return new Adoption(expiredMs, double.NaN);
    }

    /// <summary>Counts reply-partition leases lost by live instances (the engine's typedrpc.kafka.leases counter, event lost).</summary>
    private sealed class LeaseLosses : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public LeaseLosses()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "TypedRpc" && instrument.Name == "typedrpc.kafka.leases")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "event" && tag.Value as string == "lost")
                    {
                        Interlocked.Add(ref _count, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }

    private static readonly TimeSpan CrashWait = TimeSpan.FromSeconds(15);

    /// <summary>Whether <paramref name="task"/> finished within <paramref name="limit"/> (its exception, if any, is thrown).</summary>
    private static async Task<bool> FinishesWithinAsync(Task task, TimeSpan limit)
    {
        if (await Task.WhenAny(task, Task.Delay(limit)) != task)
        {
            _ = task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            return false;
        }

        await task;
        return true;
    }
}
