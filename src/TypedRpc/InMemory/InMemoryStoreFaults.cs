using System;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.InMemory;

/// <summary>
/// Faults an <see cref="InMemoryOwnershipStore"/> can be told to show, for tests of how an
/// application behaves when its ownership store is down or slow. None is on by default.
/// </summary>
public sealed class InMemoryStoreFaults
{
    private volatile bool _unavailable;

    // TimeSpan? cannot be read atomically; -1 stands for "no delay".
    private long _operationDelayTicks = -1;

    /// <summary>Creates a set of faults with none on.</summary>
    public InMemoryStoreFaults()
    {
    }

    /// <summary>
    /// While <see langword="true"/>, every operation fails with <see cref="InvalidOperationException"/>
    /// (<see cref="InMemoryOwnershipStore.UnavailableMessage"/>). Existing wake-up subscriptions stay,
    /// and receive what is notified once the store is back.
    /// </summary>
    public bool Unavailable
    {
        get => _unavailable;
        set => _unavailable = value;
    }

    /// <summary>
    /// When set, every operation first waits this long (on the store's <see cref="TimeProvider"/>, so
    /// with a manual clock it waits until the clock is advanced; the operation's cancellation token
    /// cancels the wait). <see langword="null"/> (the default) or zero for none.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative, or longer than <see cref="Task.Delay(TimeSpan)"/> allows.</exception>
    public TimeSpan? OperationDelay
    {
        get
        {
            var ticks = Volatile.Read(ref _operationDelayTicks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }

        set
        {
            if (value is { } delay)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero, nameof(value));
                ArgumentOutOfRangeException.ThrowIfGreaterThan(delay, TimeSpan.FromMilliseconds(uint.MaxValue - 1), nameof(value));
            }

            Volatile.Write(ref _operationDelayTicks, value?.Ticks ?? -1);
        }
    }

    /// <summary>The delay in ticks, or -1 for none; read once per operation.</summary>
    internal long OperationDelayTicks => Volatile.Read(ref _operationDelayTicks);
}
