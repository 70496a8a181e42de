using System;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Redis;

namespace TypedRpc.Kafka;

/// <summary>
/// Reply-partition leases in Redis: the lease of partition <c>p</c> of client group <c>g</c> is the
/// named lease <c>g:p</c> of a <see cref="RedisOwnershipStore"/>'s <see cref="RedisOwnershipStore.Leases"/>
/// (key <c>ns:lease:g:p</c>). Thread-safe; argument checks and failures are <see cref="RedisLeases"/>'.
/// </summary>
public sealed class RedisReplyPartitionLeaseStore : IReplyPartitionLeaseStore
{
    private readonly RedisLeases _leases;

    /// <summary>Creates the lease store over a Redis store's leases.</summary>
    /// <param name="leases">The leases, from <see cref="RedisOwnershipStore.Leases"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="leases"/> is null.</exception>
    public RedisReplyPartitionLeaseStore(RedisLeases leases)
    {
        ArgumentNullException.ThrowIfNull(leases);
        _leases = leases;
    }

    /// <inheritdoc />
    public ValueTask<bool> TryAcquireAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        _leases.TryAcquireAsync(group, partition, instanceId, timeToLive, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> RenewAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        _leases.RenewAsync(group, partition, instanceId, timeToLive, cancellationToken);

    /// <inheritdoc />
    public ValueTask ReleaseAsync(string group, int partition, string instanceId, CancellationToken cancellationToken) =>
        _leases.ReleaseAsync(group, partition, instanceId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<string?> GetHolderAsync(string group, int partition, CancellationToken cancellationToken) =>
        _leases.GetHolderAsync(group, partition, cancellationToken);
}
