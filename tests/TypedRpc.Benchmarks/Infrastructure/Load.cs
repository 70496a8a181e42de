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
