using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.Ownership;

/// <summary>
/// The callers' durable state, which lets calls survive instance changes: who owns each call, the
/// replies that reached the wrong instance (or came late), and a wake-up channel per instance.
/// Implemented over Redis, and in memory for tests. Every entry has a time to live. The servers'
/// side (claims and cancellations) is <see cref="IRpcClaimStore"/>.
/// </summary>
/// <remarks>Every method may throw when the store is unreachable; the engine bounds each call in time.</remarks>
public interface IRpcOwnershipStore
{
    /// <summary>Records (or replaces) the owner of a call.</summary>
    /// <param name="id">The call.</param>
    /// <param name="owner">The owner.</param>
    /// <param name="timeToLive">How long to keep the record.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the record is stored.</returns>
    ValueTask RegisterOwnerAsync(CorrelationId id, RpcOwner owner, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Looks up the owner of a call.</summary>
    /// <param name="id">The call.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The owner, or <see langword="null"/> when none is recorded.</returns>
    ValueTask<RpcOwner?> GetOwnerAsync(CorrelationId id, CancellationToken cancellationToken);

    /// <summary>Removes the owner record if <paramref name="instanceId"/> still owns the call.</summary>
    /// <param name="id">The call.</param>
    /// <param name="instanceId">The instance releasing it.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when done.</returns>
    ValueTask ReleaseOwnerAsync(CorrelationId id, string instanceId, CancellationToken cancellationToken);

    /// <summary>
    /// Appends a reply message to the call's stored replies (a message with a sequence number
    /// already stored is ignored) and then, when <paramref name="notifyInstance"/> is set, wakes
    /// that instance — atomically, so a woken owner always finds the message.
    /// </summary>
    /// <param name="reply">The reply message.</param>
    /// <param name="timeToLive">How long to keep the call's replies.</param>
    /// <param name="notifyInstance">The instance to wake, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored (and notified).</returns>
    ValueTask StoreReplyAsync(RpcReply reply, TimeSpan timeToLive, string? notifyInstance, CancellationToken cancellationToken);

    /// <summary>Gets the call's stored reply messages, in sequence order.</summary>
    /// <param name="id">The call.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The messages; empty when none are stored.</returns>
    ValueTask<IReadOnlyList<RpcReply>> GetRepliesAsync(CorrelationId id, CancellationToken cancellationToken);

    /// <summary>Wakes an instance about a call (its reply was stored for it).</summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="id">The call.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the notification is sent.</returns>
    ValueTask NotifyAsync(string instanceId, CorrelationId id, CancellationToken cancellationToken);

    /// <summary>Subscribes to an instance's wake-up channel.</summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="onWakeUp">Called with the call's id for each notification; must not throw.</param>
    /// <param name="cancellationToken">Cancels the subscribe.</param>
    /// <returns>The subscription; dispose to stop.</returns>
    ValueTask<IAsyncDisposable> SubscribeWakeUpsAsync(string instanceId, Func<CorrelationId, ValueTask> onWakeUp, CancellationToken cancellationToken);
}
