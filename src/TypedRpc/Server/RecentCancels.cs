using System.Collections.Generic;
using System.Threading;

namespace TypedRpc.Server;

/// <summary>
/// Cancellations a host heard for requests it did not hold at that moment: a cancel published
/// just after a claim may arrive before the claim is registered here, so it is remembered for a
/// while (30 s, at most 10,000, oldest dropped first) and matched when the claim is registered.
/// Every server of a service hears every cancellation of it, so most entries are never matched.
/// </summary>
internal sealed class RecentCancels
{
    private const int Capacity = 10_000;
    private const long KeepMs = 30_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<CorrelationId, (long Deadline, long At)> _entries = new();
    private readonly Queue<(CorrelationId Id, long At)> _order = new();

    // Read without the lock on every claim: the table is nearly always empty.
    private volatile int _count;

    /// <summary>Remembers a cancellation of the request with this id and deadline.</summary>
    public void Add(CorrelationId id, long requestDeadlineUnixMs, long nowMs)
    {
        lock (_lock)
        {
            DropOld(nowMs);
            if (_entries.Count >= Capacity && _order.TryDequeue(out var oldest))
            {
                RemoveIfSame(oldest);
            }

            _entries[id] = (requestDeadlineUnixMs, nowMs);
            _order.Enqueue((id, nowMs));
            _count = _entries.Count;
        }
    }

    /// <summary>Takes a remembered cancellation of this very request (same id and deadline).</summary>
    public bool TryTake(CorrelationId id, long requestDeadlineUnixMs)
    {
        if (_count == 0)
        {
            return false;
        }

        lock (_lock)
        {
            if (!_entries.TryGetValue(id, out var entry) || entry.Deadline != requestDeadlineUnixMs)
            {
                return false;
            }

            _entries.Remove(id);
            _count = _entries.Count;
            return true;
        }
    }

    /// <summary>Forgets what is older than the keep time.</summary>
    public void Prune(long nowMs)
    {
        if (_count == 0)
        {
            return;
        }

        lock (_lock)
        {
            DropOld(nowMs);
            _count = _entries.Count;
        }
    }

    private void DropOld(long nowMs)
    {
        while (_order.TryPeek(out var oldest) && nowMs - oldest.At > KeepMs)
        {
            _order.Dequeue();
            RemoveIfSame(oldest);
        }
    }

    // The queue may hold an entry that was taken or replaced since: remove only what it added.
    private void RemoveIfSame((CorrelationId Id, long At) queued)
    {
        if (_entries.TryGetValue(queued.Id, out var entry) && entry.At == queued.At)
        {
            _entries.Remove(queued.Id);
        }
    }
}
