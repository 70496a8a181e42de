using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.InMemory;

// Reply-partition leases. Bounded by groups × partitions, so expired leases are simply
// overwritten rather than swept.
public sealed partial class InMemoryOwnershipStore
{
    private readonly Dictionary<(string Group, int Partition), (string Holder, long ExpiresAt)> _leases = new();

    /// <inheritdoc />
    public async ValueTask<bool> TryAcquireLeaseAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        CheckLeaseArguments(group, partition, instanceId);
        ThrowIfNotPositive(timeToLive);
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
    public async ValueTask<bool> RenewLeaseAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        CheckLeaseArguments(group, partition, instanceId);
        ThrowIfNotPositive(timeToLive);
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
    public async ValueTask ReleaseLeaseAsync(string group, int partition, string instanceId, CancellationToken cancellationToken)
    {
        CheckLeaseArguments(group, partition, instanceId);
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
    public async ValueTask<string?> GetLeaseHolderAsync(string group, int partition, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            return _leases.TryGetValue((group, partition), out var lease) && lease.ExpiresAt > Now() ? lease.Holder : null;
        }
    }

    private static void CheckLeaseArguments(string group, int partition, string instanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
    }
}
