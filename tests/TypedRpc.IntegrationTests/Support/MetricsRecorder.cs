using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;

namespace TypedRpc.IntegrationTests.Support;

/// <summary>Sums TypedRpc's counters while it lives (per instrument name and tag values).</summary>
public sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();

    public MetricsRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == TypedRpc.Diagnostics.RpcMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += $"[{tag.Key}={tag.Value}]";
            }

            _totals.AddOrUpdate(key, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    public long this[string key] => _totals.GetValueOrDefault(key);

    public override string ToString() => string.Join(", ", _totals.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));

    public void Dispose() => _listener.Dispose();
}
