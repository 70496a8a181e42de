using System;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace TypedRpc.Redis;

// Reply-partition leases: one string key per partition holding the holder's instance id, with the
// lease's expiry. Every change is a script that checks the holder first.
public sealed partial class RedisOwnershipStore
{
    /// <inheritdoc />
    /// <remarks>One script: takes a free lease, or renews it when <paramref name="instanceId"/> holds it.</remarks>
    /// <exception cref="ArgumentException"><paramref name="group"/> or <paramref name="instanceId"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="partition"/> is negative, or <paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> TryAcquireLeaseAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        CheckLeaseArguments(group, partition, instanceId);
        var ttl = Milliseconds(timeToLive);
        return LeaseScriptAsync("TryAcquireLease", RedisScripts.AcquireLease, _keys.Lease(group, partition), [instanceId, ttl], cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="group"/> or <paramref name="instanceId"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="partition"/> is negative, or <paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> RenewLeaseAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        CheckLeaseArguments(group, partition, instanceId);
        var ttl = Milliseconds(timeToLive);
        return LeaseScriptAsync("RenewLease", RedisScripts.RenewLease, _keys.Lease(group, partition), [instanceId, ttl], cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="group"/> or <paramref name="instanceId"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="partition"/> is negative.</exception>
    public ValueTask ReleaseLeaseAsync(string group, int partition, string instanceId, CancellationToken cancellationToken)
    {
        CheckLeaseArguments(group, partition, instanceId);
        return IgnoreResult(LeaseScriptAsync("ReleaseLease", RedisScripts.ReleaseLease, _keys.Lease(group, partition), [instanceId], cancellationToken));
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="group"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="partition"/> is negative.</exception>
    public ValueTask<string?> GetLeaseHolderAsync(string group, int partition, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        return GetLeaseHolderCoreAsync(_keys.Lease(group, partition), cancellationToken);
    }

    private async ValueTask<string?> GetLeaseHolderCoreAsync(RedisKey key, CancellationToken cancellationToken)
    {
        var value = await RunAsync("GetLeaseHolder", key, static (c, k) => c.Database.StringGetAsync(k), cancellationToken).ConfigureAwait(false);
        return value.IsNull ? null : (string?)value;
    }

    private async ValueTask<bool> LeaseScriptAsync(string operation, RedisScript script, RedisKey key, RedisValue[] values, CancellationToken cancellationToken)
    {
        var result = await EvaluateAsync(operation, script, [key], values, cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    private static void CheckLeaseArguments(string group, int partition, string instanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
    }
}
