using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.InMemory;

namespace TypedRpc.Kafka;

/// <summary>
/// Reply-partition leases in memory, for tests. <see cref="For"/> gives the leases kept beside an
/// <see cref="InMemoryOwnershipStore"/>: one set per store, on its clock and with its
/// <see cref="InMemoryOwnershipStore.Faults"/>, so every engine instance given the same store shares
/// the leases too, and a store made unavailable fails its leases as well.
/// </summary>
/// <remarks>
/// A lease expires after its time to live on the <see cref="TimeProvider"/>; leases are bounded by
/// groups × partitions, so expired ones are overwritten rather than swept. Each operation is atomic
/// (one lock); failures are reported in the returned task. Every member is thread-safe.
/// </remarks>
public sealed class InMemoryReplyPartitionLeaseStore : IReplyPartitionLeaseStore
{
    private static readonly ConditionalWeakTable<InMemoryOwnershipStore, InMemoryReplyPartitionLeaseStore> Beside = new();

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Group, int Partition), (string Holder, long ExpiresAt)> _leases = new();

    /// <summary>Creates an empty lease store with faults of its own.</summary>
    /// <param name="timeProvider">The clock leases expire by; <see cref="TimeProvider.System"/> when null.</param>
    public InMemoryReplyPartitionLeaseStore(TimeProvider? timeProvider = null)
        : this(timeProvider ?? TimeProvider.System, new InMemoryStoreFaults())
    {
    }

    private InMemoryReplyPartitionLeaseStore(TimeProvider timeProvider, InMemoryStoreFaults faults)
    {
        _time = timeProvider;
        Faults = faults;
    }

    /// <summary>Faults this store shows on request (down, slow), for tests; shared with the ownership store for <see cref="For"/>'s.</summary>
    public InMemoryStoreFaults Faults { get; }

    /// <summary>The leases kept beside <paramref name="store"/>: the same instance for every call with that store.</summary>
    /// <param name="store">The in-memory ownership store.</param>
    /// <returns>The lease store sharing the store's clock and faults.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> is null.</exception>
    public static InMemoryReplyPartitionLeaseStore For(InMemoryOwnershipStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return Beside.GetValue(store, static s => new InMemoryReplyPartitionLeaseStore(s.TimeProvider, s.Faults));
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="group"/> or <paramref name="instanceId"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="partition"/> is negative, or <paramref name="timeToLive"/> is not positive.</exception>
    public async ValueTask<bool> TryAcquireAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        Check(group, partition, instanceId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            if (_leases.TryGetValue((group, partition), out var lease) && lease.ExpiresAt > now && !string.Equals(lease.Holder, instanceId, StringComparison.Ordinal))
            {
                return false;
            }

            _leases[(group, partition)] = (instanceId, ExpiresAt(now, timeToLive));
            return true;
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="group"/> or <paramref name="instanceId"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="partition"/> is negative, or <paramref name="timeToLive"/> is not positive.</exception>
    public async ValueTask<bool> RenewAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        Check(group, partition, instanceId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            if (!_leases.TryGetValue((group, partition), out var lease) || lease.ExpiresAt <= now || !string.Equals(lease.Holder, instanceId, StringComparison.Ordinal))
            {
                return false;
            }

            _leases[(group, partition)] = (instanceId, ExpiresAt(now, timeToLive));
            return true;
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="group"/> or <paramref name="instanceId"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="partition"/> is negative.</exception>
    public async ValueTask ReleaseAsync(string group, int partition, string instanceId, CancellationToken cancellationToken)
    {
        Check(group, partition, instanceId);
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            if (_leases.TryGetValue((group, partition), out var lease) && string.Equals(lease.Holder, instanceId, StringComparison.Ordinal))
            {
                _leases.Remove((group, partition));
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="group"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="partition"/> is negative.</exception>
    public async ValueTask<string?> GetHolderAsync(string group, int partition, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            return _leases.TryGetValue((group, partition), out var lease) && lease.ExpiresAt > Now() ? lease.Holder : null;
        }
    }

    // As the ownership store: the simulated latency, then cancellation and availability.
    private async ValueTask BeginAsync(CancellationToken cancellationToken)
    {
        if (Faults.OperationDelay is { } delay && delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (Faults.Unavailable)
        {
            throw new InvalidOperationException(InMemoryOwnershipStore.UnavailableMessage);
        }
    }

    private long Now() => _time.GetUtcNow().UtcTicks;

    private static long ExpiresAt(long now, TimeSpan timeToLive) =>
        timeToLive.Ticks > long.MaxValue - now ? long.MaxValue : now + timeToLive.Ticks;

    private static void Check(string group, int partition, string instanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
    }
}
