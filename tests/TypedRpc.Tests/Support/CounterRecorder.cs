using System;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading;

namespace TypedRpc.Tests.Support;

/// <summary>Sums one TypedRpc counter by the value of one tag, while it lives.</summary>
public sealed class CounterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();

    public CounterRecorder(string instrument)
    {
        _listener.InstrumentPublished = (i, listener) =>
        {
            if (i.Meter.Name == TypedRpc.Diagnostics.RpcMetrics.MeterName && i.Name == instrument)
            {
                listener.EnableMeasurementEvents(i);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                _totals.AddOrUpdate(tag.Key + "=" + tag.Value, value, (_, total) => total + value);
            }
        });
        _listener.Start();
    }

    public long Total(string tag, string value) => _totals.TryGetValue(tag + "=" + value, out var total) ? Interlocked.Read(ref total) : 0;

    public void Dispose() => _listener.Dispose();
}
