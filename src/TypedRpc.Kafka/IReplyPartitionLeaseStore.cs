using System;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.Kafka;

/// <summary>
/// Where the instances of a client group lease the partitions of its reply topic
/// (<see cref="ReplyRouting.LeasedPartitions"/>): each partition is held by at most one instance
/// until released or its time to live runs out. <c>AddKafka</c> registers one over the ownership
/// store (<see cref="RedisReplyPartitionLeaseStore"/>, <see cref="InMemoryReplyPartitionLeaseStore"/>)
/// unless the application registered its own.
/// </summary>
/// <remarks>Every method may throw when the store is unreachable; the transport retries at its next renewal.</remarks>
public interface IReplyPartitionLeaseStore
{
    /// <summary>
    /// Takes the lease on one reply partition of a client group if nobody holds it (or
    /// <paramref name="instanceId"/> already does, in which case it is renewed).
    /// </summary>
    /// <param name="group">The client group (the reply topic's owner).</param>
    /// <param name="partition">The partition.</param>
    /// <param name="instanceId">The instance taking it.</param>
    /// <param name="timeToLive">How long the lease holds without renewal.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when <paramref name="instanceId"/> holds the lease now.</returns>
    ValueTask<bool> TryAcquireAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Extends a lease, only if <paramref name="instanceId"/> still holds it.</summary>
    /// <param name="group">The client group.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="instanceId">The holder.</param>
    /// <param name="timeToLive">The new time to live.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="false"/> when the lease was lost (expired, or taken by another instance).</returns>
    ValueTask<bool> RenewAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Gives a lease up, only if <paramref name="instanceId"/> holds it.</summary>
    /// <param name="group">The client group.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="instanceId">The holder.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when done.</returns>
    ValueTask ReleaseAsync(string group, int partition, string instanceId, CancellationToken cancellationToken);

    /// <summary>Who holds a lease.</summary>
    /// <param name="group">The client group.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The holder's instance id, or <see langword="null"/> when the partition is free.</returns>
    ValueTask<string?> GetHolderAsync(string group, int partition, CancellationToken cancellationToken);
}
