using System;
using System.Collections.Generic;

namespace TypedRpc.Benchmarks.Infrastructure;

/// <summary>Latency figures over a set of samples (milliseconds).</summary>
public readonly record struct Stats(int Count, double P50, double P99, double Mean, double Max)
{
    public static Stats Of(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0)
        {
            return new Stats(0, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        var sorted = new double[samples.Count];
        var i = 0;
        var sum = 0d;
        foreach (var sample in samples)
        {
            sorted[i++] = sample;
            sum += sample;
        }

        Array.Sort(sorted);
        return new Stats(sorted.Length, Percentile(sorted, 0.50), Percentile(sorted, 0.99), sum / sorted.Length, sorted[^1]);
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        var rank = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static double Ms(long fromTimestamp, long toTimestamp) =>
        (toTimestamp - fromTimestamp) * 1_000d / System.Diagnostics.Stopwatch.Frequency;
}
