using System;
using System.Collections.Generic;
using System.Threading;

namespace TypedRpc.Client;

/// <summary>
/// One hashed timing wheel serves every pending call's deadline: scheduling and cancelling are
/// O(1) under one short lock, and a single background thread ticks every
/// <see cref="TickMilliseconds"/>. No per-call Timer or CancellationTokenSource.
/// </summary>
/// <remarks>
/// Entries are intrusive (the pending call is the list node), so nothing is allocated per
/// schedule. An entry whose deadline is beyond one rotation stays in its slot and is skipped
/// until its due tick comes round. Expiry callbacks run on the wheel thread, outside the lock,
/// and must be short (they hand real work to the thread pool).
/// </remarks>
internal sealed class TimerWheel : IDisposable
{
    public const int TickMilliseconds = 5;
    private const int SlotCount = 1024; // 5.12 s per rotation

    private readonly Entry?[] _slots = new Entry?[SlotCount];
    private readonly object _lock = new();
    private readonly Thread _thread;
    private readonly List<Entry> _expired = new();
    private readonly long _startMs;
    private long _processedTick;
    private int _count;
    private volatile bool _disposed;

    public TimerWheel()
    {
        _startMs = NowMs;
        _thread = new Thread(Run) { IsBackground = true, Name = "TypedRpc timer wheel" };
        _thread.Start();
    }

    /// <summary>The number of scheduled entries.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Monotonic milliseconds, the wheel's clock.</summary>
    /// <remarks>
    /// Not <see cref="Environment.TickCount64"/>: on Linux it reads CLOCK_MONOTONIC_COARSE, which
    /// advances in 4 ms steps, so a deadline computed from it would fire up to 4 ms early (waiters
    /// benchmark). <see cref="System.Diagnostics.Stopwatch"/> is precise.
    /// </remarks>
    public static long NowMs => System.Diagnostics.Stopwatch.GetTimestamp() / TicksPerMs;

    private static readonly long TicksPerMs = System.Diagnostics.Stopwatch.Frequency / 1_000;

    /// <summary>Schedules (or re-schedules) <paramref name="entry"/> to expire at <paramref name="dueMs"/> (see <see cref="NowMs"/>).</summary>
    public void Schedule(Entry entry, long dueMs)
    {
        lock (_lock)
        {
            if (entry.DueTick >= 0)
            {
                Unlink(entry);
            }

            // Round up so an entry never fires early; never schedule into a tick already processed.
            var tick = Math.Max((dueMs - _startMs + TickMilliseconds - 1) / TickMilliseconds, _processedTick + 1);
            entry.DueTick = tick;
            var slot = (int)(tick % SlotCount);
            entry.Previous = null;
            entry.Next = _slots[slot];
            if (entry.Next is not null)
            {
                entry.Next.Previous = entry;
            }

            _slots[slot] = entry;
            _count++;
        }
    }

    /// <summary>Removes <paramref name="entry"/> if it is scheduled.</summary>
    public void Cancel(Entry entry)
    {
        if (entry.DueTick < 0)
        {
            return;
        }

        lock (_lock)
        {
            if (entry.DueTick >= 0)
            {
                Unlink(entry);
            }
        }
    }

    public void Dispose() => _disposed = true;

    private void Unlink(Entry entry)
    {
        if (entry.Previous is not null)
        {
            entry.Previous.Next = entry.Next;
        }
        else
        {
            _slots[(int)(entry.DueTick % SlotCount)] = entry.Next;
        }

        if (entry.Next is not null)
        {
            entry.Next.Previous = entry.Previous;
        }

        entry.Next = null;
        entry.Previous = null;
        entry.DueTick = -1;
        _count--;
    }

    private void Run()
    {
        while (!_disposed)
        {
            Thread.Sleep(TickMilliseconds);
            var nowTick = (NowMs - _startMs) / TickMilliseconds;
            lock (_lock)
            {
                // Catch up on every tick since the last pass (the thread may have been descheduled).
                while (_processedTick < nowTick)
                {
                    _processedTick++;
                    var slot = (int)(_processedTick % SlotCount);
                    var entry = _slots[slot];
                    while (entry is not null)
                    {
                        var next = entry.Next;
                        if (entry.DueTick <= _processedTick)
                        {
                            Unlink(entry);
                            _expired.Add(entry);
                        }

                        entry = next;
                    }
                }
            }

            for (var i = 0; i < _expired.Count; i++)
            {
                try
                {
                    _expired[i].OnExpired();
                }
                catch (Exception)
                {
                    // An expiry callback must not kill the one thread every deadline depends on;
                    // callbacks log their own failures.
                }
            }

            _expired.Clear();
        }
    }

    /// <summary>A schedulable item; the pending call derives from it.</summary>
    internal abstract class Entry
    {
        internal Entry? Next;
        internal Entry? Previous;

        // The tick it is due at (its slot is that modulo the slot count), or -1 when not scheduled.
        internal long DueTick = -1;

        /// <summary>Called on the wheel thread when the deadline passes. Keep it short.</summary>
        public abstract void OnExpired();
    }
}
