using System;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace TypedRpc.Redis;

/// <summary>
/// Named leases in a <see cref="RedisOwnershipStore"/>'s Redis: lease <c>index</c> of a set called
/// <c>name</c> is held by at most one holder until it is released or its time to live runs out.
/// Transport-neutral: a transport that shares out its reply partitions names the set after its
/// client group and the index after the partition. Get it from <see cref="RedisOwnershipStore.Leases"/>.
/// </summary>
/// <remarks>
/// Each lease is one string key, <c>ns:lease:name:index</c>, holding the holder, written with its
/// expiry; every change is a script that checks the holder first. Operations are bounded, fail and
/// connect as the store's do. Every member is thread-safe.
/// </remarks>
public sealed class RedisLeases
{
    private readonly RedisOwnershipStore _store;
    private readonly RedisKeys _keys;

    internal RedisLeases(RedisOwnershipStore store, RedisKeys keys)
    {
        _store = store;
        _keys = keys;
    }

    /// <summary>Takes a lease if nobody holds it, or renews it when <paramref name="holder"/> already does.</summary>
    /// <param name="name">The set of leases (for example a client group).</param>
    /// <param name="index">The lease in the set (for example a partition).</param>
    /// <param name="holder">The holder taking it.</param>
    /// <param name="timeToLive">How long the lease holds without renewal.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when <paramref name="holder"/> holds the lease now.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative, or <paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> TryAcquireAsync(string name, int index, string holder, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        Check(name, index, holder);
        var ttl = RedisOwnershipStore.Milliseconds(timeToLive);
        return ScriptAsync("TryAcquireLease", RedisScripts.AcquireLease, _keys.Lease(name, index), [holder, ttl], cancellationToken);
    }

    /// <summary>Extends a lease, only if <paramref name="holder"/> still holds it.</summary>
    /// <param name="name">The set of leases.</param>
    /// <param name="index">The lease in the set.</param>
    /// <param name="holder">The holder.</param>
    /// <param name="timeToLive">The new time to live.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="false"/> when the lease was lost (expired, or taken by another holder).</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative, or <paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> RenewAsync(string name, int index, string holder, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        Check(name, index, holder);
        var ttl = RedisOwnershipStore.Milliseconds(timeToLive);
        return ScriptAsync("RenewLease", RedisScripts.RenewLease, _keys.Lease(name, index), [holder, ttl], cancellationToken);
    }

    /// <summary>Gives a lease up, only if <paramref name="holder"/> holds it.</summary>
    /// <param name="name">The set of leases.</param>
    /// <param name="index">The lease in the set.</param>
    /// <param name="holder">The holder.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when done.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public ValueTask ReleaseAsync(string name, int index, string holder, CancellationToken cancellationToken)
    {
        Check(name, index, holder);
        return IgnoreResult(ScriptAsync("ReleaseLease", RedisScripts.ReleaseLease, _keys.Lease(name, index), [holder], cancellationToken));
    }

    /// <summary>Who holds a lease.</summary>
    /// <param name="name">The set of leases.</param>
    /// <param name="index">The lease in the set.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The holder, or <see langword="null"/> when the lease is free.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public ValueTask<string?> GetHolderAsync(string name, int index, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return GetHolderCoreAsync(_keys.Lease(name, index), cancellationToken);
    }

    private async ValueTask<string?> GetHolderCoreAsync(RedisKey key, CancellationToken cancellationToken)
    {
        var value = await _store.RunAsync("GetLeaseHolder", key, static (c, k) => c.Database.StringGetAsync(k), cancellationToken).ConfigureAwait(false);
        return value.IsNull ? null : (string?)value;
    }

    private async ValueTask<bool> ScriptAsync(string operation, RedisScript script, RedisKey key, RedisValue[] values, CancellationToken cancellationToken)
    {
        var result = await _store.EvaluateAsync(operation, script, [key], values, cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    private static async ValueTask IgnoreResult(ValueTask<bool> operation) => await operation.ConfigureAwait(false);

    private static void Check(string name, int index, string holder)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentException.ThrowIfNullOrEmpty(holder);
    }
}
