using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Threading;

namespace TypedRpc.Benchmarks.Kafka;

/// <summary>
/// Counts reply records consumed by every client instance in this process, from the engine's own
/// counters on the TypedRpc meter: each reply record a consumer reads reaches the engine once and
/// ends as exactly one of delivered (direct), forwarded (read here, owned elsewhere), ignored
/// (broadcast: owned elsewhere) or stored (no waiter). Replies handed over through Redis
/// (delivered, route=forwarded) are not records read from Kafka.
/// </summary>
public sealed class ReplyCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _direct;
    private long _forwardedIn;
    private long _forwardedOut;
    private long _ignored;
    private long _stored;

    public ReplyCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "TypedRpc" && instrument.Name.StartsWith("typedrpc.client.replies.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>Reply records read from Kafka by any client instance since the last reset.</summary>
    public long RecordsConsumed => Interlocked.Read(ref _direct) + Interlocked.Read(ref _forwardedOut) + Interlocked.Read(ref _ignored) + Interlocked.Read(ref _stored);

    public long Direct => Interlocked.Read(ref _direct);

    public long ForwardedIn => Interlocked.Read(ref _forwardedIn);

    public long ForwardedOut => Interlocked.Read(ref _forwardedOut);

    public long Ignored => Interlocked.Read(ref _ignored);

    public long Stored => Interlocked.Read(ref _stored);

    public void Reset()
    {
        Interlocked.Exchange(ref _direct, 0);
        Interlocked.Exchange(ref _forwardedIn, 0);
        Interlocked.Exchange(ref _forwardedOut, 0);
        Interlocked.Exchange(ref _ignored, 0);
        Interlocked.Exchange(ref _stored, 0);
    }

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        switch (instrument.Name)
        {
            case "typedrpc.client.replies.delivered":
                var forwarded = false;
                foreach (var tag in tags)
                {
                    if (tag.Key == "route" && tag.Value as string == "forwarded")
                    {
                        forwarded = true;
                    }
                }

                Interlocked.Add(ref forwarded ? ref _forwardedIn : ref _direct, value);
                break;
            case "typedrpc.client.replies.forwarded":
                Interlocked.Add(ref _forwardedOut, value);
                break;
            case "typedrpc.client.replies.ignored":
                Interlocked.Add(ref _ignored, value);
                break;
            case "typedrpc.client.replies.stored":
                Interlocked.Add(ref _stored, value);
                break;
        }
    }

    public void Dispose() => _listener.Dispose();
}
