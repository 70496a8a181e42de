using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.Benchmarks.Infrastructure;

/// <summary>Closed-loop load: a fixed number of calls, a fixed number in flight.</summary>
public static class Load
{
    public readonly record struct Outcome(int Completed, int Failed, double Seconds, List<double> LatenciesMs, List<string> Errors)
    {
        public double CallsPerSecond => Completed / Seconds;
    }

    /// <summary>Makes <paramref name="calls"/> calls with <paramref name="inFlight"/> of them outstanding at any time.</summary>
    public static async Task<Outcome> RunAsync(int calls, int inFlight, Func<Task> call)
    {
        var latencies = new List<double>(calls);
        var errors = new List<string>();
        var next = 0;
        var completed = 0;
        var failed = 0;
        var started = Stopwatch.GetTimestamp();

        async Task Worker()
        {
            var mine = new List<double>();
            while (Interlocked.Increment(ref next) <= calls)
            {
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    await call().ConfigureAwait(false);
                    mine.Add(Stats.Ms(t0, Stopwatch.GetTimestamp()));
                    Interlocked.Increment(ref completed);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failed);
                    lock (errors)
                    {
                        if (errors.Count < 5)
                        {
                            errors.Add(ex.GetType().Name + ": " + ex.Message);
                        }
                    }
                }
            }

            lock (latencies)
            {
                latencies.AddRange(mine);
            }
        }

        var workers = new Task[Math.Min(inFlight, calls)];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(Worker);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        return new Outcome(completed, failed, Stats.Ms(started, Stopwatch.GetTimestamp()) / 1_000d, latencies, errors);
    }

    /// <summary>What one contender of <see cref="RunInterleavedAsync"/> did over all its rounds.</summary>
    public sealed class Totals
    {
        public int Completed { get; set; }

        public int Failed { get; set; }

        /// <summary>Wall-clock seconds of the contender's own shares of the rounds.</summary>
        public double Seconds { get; set; }

        /// <summary>CPU seconds (as the given meter counts them) over the contender's shares.</summary>
        public double CpuSeconds { get; set; }

        /// <summary>redis-server's CPU seconds over the contender's shares.</summary>
        public double RedisSeconds { get; set; }

        public List<double> LatenciesMs { get; } = new();

        /// <summary>The first few failures' types and messages.</summary>
        public List<string> Errors { get; } = new();

        public double CallsPerSecond => Completed / Seconds;
    }

    /// <summary>
    /// Runs every contender <paramref name="perRound"/> calls (<paramref name="inFlight"/> at a
    /// time) in each of <paramref name="rounds"/> rounds, the order rotated each round so no
    /// contender always runs first or last (a machine that warms up or fills up over a run weighs on
    /// all alike), and meters CPU around each contender's share.
    /// </summary>
    /// <param name="contenders">One call per contender.</param>
    /// <param name="rounds">Rounds.</param>
    /// <param name="perRound">Calls per contender and round.</param>
    /// <param name="inFlight">Calls outstanding at once (1: sequential).</param>
    /// <param name="cpuNow">CPU seconds so far, of whatever the scenario counts; none: not metered.</param>
    /// <param name="redisNow">redis-server's CPU seconds so far; none: not metered.</param>
    /// <param name="roundDone">Told each finished round's number, from 1.</param>
    /// <returns>Per contender, in the order given.</returns>
    public static async Task<Totals[]> RunInterleavedAsync(
        IReadOnlyList<Func<Task>> contenders, int rounds, int perRound, int inFlight, Func<double>? cpuNow = null, Func<double>? redisNow = null, Action<int>? roundDone = null)
    {
        var totals = new Totals[contenders.Count];
        for (var c = 0; c < totals.Length; c++)
        {
            totals[c] = new Totals();
        }

        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < totals.Length; k++)
            {
                var c = (round + k) % totals.Length;
                var cpuBefore = cpuNow?.Invoke() ?? 0;
                var redisBefore = redisNow?.Invoke() ?? 0;
                var outcome = await RunAsync(perRound, inFlight, contenders[c]).ConfigureAwait(false);
                var total = totals[c];
                total.CpuSeconds += (cpuNow?.Invoke() ?? 0) - cpuBefore;
                total.RedisSeconds += (redisNow?.Invoke() ?? 0) - redisBefore;
                total.Completed += outcome.Completed;
                total.Failed += outcome.Failed;
                total.Seconds += outcome.Seconds;
                total.LatenciesMs.AddRange(outcome.LatenciesMs);
                total.Errors.AddRange(outcome.Errors.GetRange(0, Math.Min(outcome.Errors.Count, 5 - Math.Min(5, total.Errors.Count))));
            }

            roundDone?.Invoke(round + 1);
        }

        return totals;
    }

    /// <summary>Retries a first call until it succeeds (a server group still joining), within <paramref name="timeout"/>.</summary>
    public static async Task WarmUpAsync(Func<Task> call, TimeSpan timeout, int calls = 20)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                await call().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                break;
            }
            catch (Exception) when (DateTime.UtcNow < until)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }

        for (var i = 0; i < calls; i++)
        {
            await call().ConfigureAwait(false);
        }
    }
}
