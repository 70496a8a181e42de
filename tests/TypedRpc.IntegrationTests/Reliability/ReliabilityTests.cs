using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.IntegrationTests.Redis;
using TypedRpc.ReliabilityTests.ServerHost;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests.Reliability;

/// <summary>
/// Issue 8's fault tests, each named after its id. Sizes are reduced in <c>./build.sh test</c> and
/// full with <c>./build.sh test-reliability</c>; every test prints its figures as lines starting
/// with its id.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed partial class ReliabilityTests(RedisServerFixture redis, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(60);
    private readonly Support.MetricsRecorder _metrics = new();

    public void Dispose() => _metrics.Dispose();

    private void Print(string id, string line)
    {
        var text = $"[{id}{(ReliabilitySize.Full ? "" : " reduced")}] {line}";
        output.WriteLine(text);
        Console.WriteLine(text);
    }

    private static IReliabilityService Service(IServiceProvider instance) => instance.GetRequiredService<IReliabilityService>();

    /// <summary>
    /// One answered call per client before a scenario measures anything. A store operation that
    /// misses its 1 s bound on a loaded machine (a fresh connection's first commands) fails a call
    /// Unavailable; here that only means "not settled yet", so the call is made again, within Settle.
    /// </summary>
    private static Task WarmUpAsync(params IServiceProvider[] clients) => Task.WhenAll(clients.Select(async client =>
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await Service(client).ProcessAsync(0, RpcCallOptions.Default.WithTimeout(Settle));
                return;
            }
            catch (RpcException ex) when (ex.StatusCode == RpcStatusCode.Unavailable && clock.Elapsed < Settle)
            {
                await Task.Delay(200);
            }
        }
    }));

    /// <summary>
    /// Calls from <paramref name="client"/> until <paramref name="count"/> were made, <paramref name="workers"/>
    /// at a time; records each outcome and the correlation id of each success. A failure that
    /// <paramref name="notSent"/> recognizes (refused before anything was sent) is counted apart, not recorded.
    /// </summary>
    /// <returns>How many calls <paramref name="notSent"/> recognized.</returns>
    private static async Task<int> LoadAsync(Func<int, IServiceProvider> client, int count, int workers, TimeSpan timeout, CallOutcomes outcomes,
        ConcurrentBag<string> succeeded, Func<int, int> delayMs, double perSecond = 0, Func<RpcException, bool>? notSent = null)
    {
        var issued = -1;
        var refused = 0;
        var started = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref issued)) < count)
            {
                // Paced, so that a run spans the faults it is meant to see.
                var due = perSecond > 0 ? TimeSpan.FromSeconds(n / perSecond) - started.Elapsed : TimeSpan.Zero;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due);
                }

                var clock = Stopwatch.StartNew();
                try
                {
                    var result = await Service(client(n)).ProcessAsync(delayMs(n), RpcCallOptions.Default.WithTimeout(timeout));
                    outcomes.Record(null, clock.Elapsed, timeout, TimeSpan.FromSeconds(5));
                    succeeded.Add(result.Split('|')[1]);
                }
                catch (RpcException ex) when (notSent?.Invoke(ex) == true)
                {
                    Interlocked.Increment(ref refused);
                }
                catch (Exception ex)
                {
                    outcomes.Record(ex, clock.Elapsed, timeout, TimeSpan.FromSeconds(5));
                }
            }
        })));
        return refused;
    }

    /// <summary>One call of a <see cref="SteadyLoad"/>: when it started and ended (ms on the load's clock), how, and from which client.</summary>
    private readonly record struct TimedCall(double Start, double End, RpcStatusCode Status, string? Other, int Client);

    /// <summary>
    /// Callers that call without pause until stopped (worker w through client w mod n; a failed
    /// caller backs off 20 ms, as a real one would), and a probe of thread-pool responsiveness: how
    /// late a 20 ms timer fires, all through the run. For the outage tests, which look at calls by
    /// the time they started.
    /// </summary>
    private sealed class SteadyLoad
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _running;

        public SteadyLoad(IServiceProvider[] clients, int workers, TimeSpan timeout)
        {
            var load = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var start = Now;
                    RpcStatusCode status;
                    string? other = null;
                    try
                    {
                        await Service(clients[w % clients.Length]).ProcessAsync(5, RpcCallOptions.Default.WithTimeout(timeout));
                        status = RpcStatusCode.OK;
                    }
                    catch (RpcException ex)
                    {
                        status = ex.StatusCode;
                    }
                    catch (Exception ex)
                    {
                        status = RpcStatusCode.Unknown;
                        other = ex.GetType().Name + ": " + ex.Message;
                    }

                    Calls.Add(new TimedCall(start, Now, status, other, w % clients.Length));
                    if (status != RpcStatusCode.OK)
                    {
                        await Task.Delay(20);
                    }
                }
            }));
            var probe = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var t = Stopwatch.StartNew();
                    await Task.Delay(20);
                    Lateness.Add((Now, t.Elapsed.TotalMilliseconds - 20));
                }
            });
            _running = Task.WhenAll(load.Append(probe));
        }

        /// <summary>Milliseconds since the load started.</summary>
        public double Now => Clock.Elapsed.TotalMilliseconds;

        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        public ConcurrentBag<TimedCall> Calls { get; } = new();

        /// <summary>When each probe fired and how late (ms).</summary>
        public ConcurrentBag<(double At, double Late)> Lateness { get; } = new();

        public async Task StopAsync()
        {
            _stop.Cancel();
            await _running;
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task R1_ServersKilledEveryFewSecondsUnderLoad_NoCallLost_NoneRunTwice()
    {
        var calls = ReliabilitySize.Pick(10_000, 4_000);
        await using var cluster = new ReliabilityCluster(redis.Configuration);
        static void NoDrain(TypedRpcOptions o) => o.ShutdownDrainTimeout = TimeSpan.Zero;
        var servers = new List<IServiceProvider>
        {
            await cluster.StartAsync(client: false, server: true, NoDrain),
            await cluster.StartAsync(client: false, server: true, NoDrain),
        };
        var process = await cluster.StartProcessAsync(Settle);
        var clients = new List<IServiceProvider>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(await cluster.StartAsync(client: true, server: false));
        }

        await cluster.WaitForServersAsync(Settle);
        await WarmUpAsync([.. clients]);
        cluster.Effects.Clear();

        var outcomes = new CallOutcomes();
        var succeeded = new ConcurrentBag<string>();
        var clock = Stopwatch.StartNew();
        // 250 calls a second (the full run lasts ~40 s, the reduced one ~12 s), up to 1,000 at a time.
        var load = LoadAsync(n => clients[n % 3], calls, workers: 1_000, TimeSpan.FromSeconds(30), outcomes, succeeded, n => 5 + (n % 96), perSecond: 250);

        // One of the three servers dies every few seconds, in turn a separate process (SIGKILL) and
        // an in-process instance disposed without drain; a replacement starts at once.
        int processKills = 0, inProcessKills = 0;
        while (!load.IsCompleted)
        {
            await Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(3)));
            if (load.IsCompleted)
            {
                break;
            }

            if ((processKills + inProcessKills) % 2 == 1)
            {
                await process.KillAsync();
                processKills++;
                process = await cluster.StartProcessAsync(Settle);
            }
            else
            {
                await cluster.KillAsync(servers[0]);
                servers.RemoveAt(0);
                inProcessKills++;
                servers.Add(await cluster.StartAsync(client: false, server: true, NoDrain));
            }
        }

        await load;
        var elapsed = clock.Elapsed;

        // Every side effect a killed or live process wrote is read before counting.
        await process.KillAsync();
        var twice = cluster.Effects.Count(kv => kv.Value > 1);
        var okWithoutEffect = succeeded.Count(id => cluster.Effects.GetValueOrDefault(id) != 1);
        Print("R1", cluster.Settings.DescribeKnobs());
        Print("R1", $"{calls} calls in {elapsed.TotalSeconds:0.0} s with {processKills} server processes killed (SIGKILL) and {inProcessKills} in-process servers killed (no drain); outcomes: {outcomes}");
        Print("R1", $"not OK: {calls - outcomes.Ok} (each with an explicit status within its deadline); ids with more than one side effect: {twice}; OK calls without exactly one side effect: {okWithoutEffect}; "
            + $"claims taken over (in-process servers): {_metrics["typedrpc.server.claims[event=taken_over]"]}; duplicates suppressed: running {_metrics["typedrpc.server.duplicates_suppressed[outcome=running]"]}, completed {_metrics["typedrpc.server.duplicates_suppressed[outcome=completed]"]}");

        if (outcomes.Failures.Count > 0)
        {
            Print("R1", "failed with an explicit status: " + string.Join("; ", outcomes.Failures));
        }

        // Lost means neither completed nor failed with an explicit status within its deadline
        // (issue 8). A store operation that outlasts its bound under this machine's load (1 s here)
        // fails a call Unavailable — explicit, retryable, and rare (1 of 4,000 once in CI).
        Assert.Equal(calls, outcomes.Total);
        Assert.Empty(outcomes.Unexplained);
        Assert.Equal(0, outcomes.Late);
        Assert.True(processKills >= 1 && inProcessKills >= 1, "Both kinds of kill must happen during the load.");
        Assert.Equal(calls, outcomes.Ok + outcomes.Count(RpcStatusCode.Unavailable) + outcomes.Count(RpcStatusCode.DeadlineExceeded));
        Assert.True(outcomes.Ok >= calls * 0.999, $"Only {outcomes.Ok} of {calls} calls completed.");
        Assert.Equal(0, twice);
        Assert.Equal(0, okWithoutEffect);
    }
}
