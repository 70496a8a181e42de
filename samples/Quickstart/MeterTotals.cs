using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace Quickstart;

/// <summary>
/// Listens to the <c>TypedRpc</c> meter — the same instruments an OpenTelemetry exporter would
/// read with <c>AddMeter("TypedRpc")</c> — and keeps the counters' totals, by instrument and by its
/// distinguishing tag (route, outcome or status).
/// </summary>
public sealed class MeterTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);

    /// <summary>Starts listening.</summary>
    public MeterTotals()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "TypedRpc" && instrument is Counter<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>The total of a counter, optionally of one tag value (e.g. "typedrpc.client.replies.delivered", "forwarded").</summary>
    public long this[string instrument, string? tag = null] => _totals.TryGetValue(tag is null ? instrument : instrument + "|" + tag, out var n) ? n : 0;

    /// <summary>A copy of every total.</summary>
    public IReadOnlyDictionary<string, long> Snapshot() => new Dictionary<string, long>(_totals, StringComparer.Ordinal);

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        _totals.AddOrUpdate(instrument.Name, value, (_, n) => n + value);
        foreach (var tag in tags)
        {
            if (tag.Key is "route" or "outcome" or "rpc.status")
            {
                _totals.AddOrUpdate(instrument.Name + "|" + tag.Value, value, (_, n) => n + value);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();
}
