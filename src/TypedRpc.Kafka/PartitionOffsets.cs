using System.Collections.Generic;

namespace TypedRpc.Kafka;

/// <summary>
/// Records of one partition are handled concurrently but committed in order: the commit position
/// is the lowest offset still being handled (or one past the highest seen when none is), so a
/// crash never skips a record whose handling had not finished.
/// </summary>
internal sealed class PartitionOffsets
{
    private readonly SortedSet<long> _inFlight = new();
    private readonly object _lock = new();
    private long _next = -1;
    private long _committed = -1;

    public void Start(long offset)
    {
        lock (_lock)
        {
            _inFlight.Add(offset);
            if (offset + 1 > _next)
            {
                _next = offset + 1;
            }
        }
    }

    public void Complete(long offset)
    {
        lock (_lock)
        {
            _inFlight.Remove(offset);
        }
    }

    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight.Count;
            }
        }
    }

    /// <summary>The position to commit if it moved since the last call; otherwise -1.</summary>
    public long TakeCommitPosition()
    {
        lock (_lock)
        {
            var position = _inFlight.Count > 0 ? _inFlight.Min : _next;
            if (position <= _committed)
            {
                return -1;
            }

            _committed = position;
            return position;
        }
    }
}
