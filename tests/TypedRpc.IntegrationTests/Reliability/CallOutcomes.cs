using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;

namespace TypedRpc.IntegrationTests.Reliability;

/// <summary>How each call of a run ended, with its latency: the figures a reliability test prints and checks.</summary>
public sealed class CallOutcomes
{
    private readonly ConcurrentDictionary<string, int> _byStatus = new();
    private readonly ConcurrentBag<double> _latencies = new();
    private readonly ConcurrentBag<string> _unexplained = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private int _late;

    public int Total => _byStatus.Values.Sum();

    public int Ok => _byStatus.GetValueOrDefault("OK");

    public int Late => Volatile.Read(ref _late);

    public IReadOnlyCollection<string> Unexplained => _unexplained;

    /// <summary>The first failures with an explicit status: "Status: detail (correlation id)".</summary>
    public IReadOnlyCollection<string> Failures => _failures;

    public int Count(RpcStatusCode status) => _byStatus.GetValueOrDefault(status.ToString());

    /// <summary>Records one call: its status (OK, an RpcException's, or the unexplained exception), and whether it ended later than its deadline plus the slack.</summary>
    public void Record(Exception? error, TimeSpan elapsed, TimeSpan deadline, TimeSpan slack)
    {
        var key = error switch
        {
            null => "OK",
            RpcException rpc => rpc.StatusCode.ToString(),
            _ => "unexplained",
        };
        if (error is not null and not RpcException)
        {
            _unexplained.Add(error.GetType().Name + ": " + error.Message);
        }
        else if (error is RpcException failed && _failures.Count < 20)
        {
            _failures.Enqueue($"{failed.StatusCode}: {failed.Status.Detail} ({failed.CorrelationId})");
        }

        _byStatus.AddOrUpdate(key, 1, (_, c) => c + 1);
        _latencies.Add(elapsed.TotalMilliseconds);
        if (elapsed > deadline + slack)
        {
            Interlocked.Increment(ref _late);
        }
    }

    public double Percentile(double p)
    {
        var sorted = _latencies.ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }

        Array.Sort(sorted);
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];
    }

    public override string ToString() =>
        string.Join(", ", _byStatus.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))
        + string.Create(CultureInfo.InvariantCulture, $"; latency p50 {Percentile(50):0} ms, p99 {Percentile(99):0} ms, max {Percentile(100):0} ms; past deadline+slack: {Late}");
}
