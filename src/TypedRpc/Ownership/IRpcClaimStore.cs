using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.Ownership;

/// <summary>
/// The servers' durable state: a claim per request, so a redelivered request runs once and its
/// replies are re-sent, and the cancellations callers send to the instance holding a claim (a
/// cancelled request is refused its claim). Implemented over Redis, and in memory for tests.
/// Every entry has a time to live.
/// </summary>
/// <remarks>Every method may throw when the store is unreachable; the engine bounds each call in time.</remarks>
public interface IRpcClaimStore
{
    /// <summary>
    /// Whether a claim writes the owner record given in <see cref="RpcClaimConditions.Owner"/> into
    /// the ownership store the callers read (<see cref="IRpcOwnershipStore"/>), so a plain call's
    /// caller need not write it. The default is <see langword="false"/>: the conditions' owner is ignored.
    /// </summary>
    bool RecordsOwners => false;

    /// <summary>
    /// Claims a request for <paramref name="holder"/>, or reports that it is running or has
    /// completed (with its replies). Atomic: of concurrent claims by different holders, exactly one
    /// is <see cref="RpcClaimState.Claimed"/>. A claim by the holder that already holds it is
    /// <see cref="RpcClaimState.Claimed"/> again (and renewed), so a claim retried after a timeout —
    /// which may have succeeded unseen — is idempotent.
    /// </summary>
    /// <param name="id">The request.</param>
    /// <param name="holder">
    /// The claimant. The engine uses its instance id plus a number per delivery, so that two
    /// deliveries of one request to the same instance are told apart.
    /// </param>
    /// <param name="timeToLive">
    /// How long the claim holds without renewal (<see cref="RenewClaimAsync"/>): a holder that
    /// dies stops renewing, its claim expires, and a redelivery may take the request over.
    /// </param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The outcome.</returns>
    ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>
    /// Claims a request as <see cref="TryClaimAsync(CorrelationId, string, TimeSpan, CancellationToken)"/>
    /// does, after two checks in the same atomic step: a request its caller cancelled
    /// (<see cref="CancelAsync"/> with the same <see cref="RpcClaimConditions.RequestDeadlineUnixMs"/>)
    /// is <see cref="RpcClaimState.Cancelled"/>, and a claim recorded with another
    /// <see cref="RpcClaimConditions.Fingerprint"/> is <see cref="RpcClaimState.Conflict"/> (an
    /// idempotency key reused for a different request). The fingerprint is kept with the claim. A
    /// store that <see cref="RecordsOwners"/> also writes <see cref="RpcClaimConditions.Owner"/>
    /// when the claim is taken and no owner record exists.
    /// </summary>
    /// <param name="id">The request.</param>
    /// <param name="holder">The claimant.</param>
    /// <param name="timeToLive">How long the claim holds without renewal.</param>
    /// <param name="conditions">The request's deadline and fingerprint.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The outcome.</returns>
    /// <remarks>The default implementation ignores the conditions: a store that does not override it never reports Cancelled or Conflict.</remarks>
    ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, RpcClaimConditions conditions, CancellationToken cancellationToken) =>
        TryClaimAsync(id, holder, timeToLive, cancellationToken);

    /// <summary>
    /// Extends a running claim if <paramref name="holder"/> still holds it, or takes it again for
    /// <paramref name="holder"/> if no claim is left (it expired while renewals failed and no other
    /// delivery took it over): a holder whose handler still runs keeps the request claimed.
    /// </summary>
    /// <param name="id">The request.</param>
    /// <param name="holder">The holder.</param>
    /// <param name="timeToLive">The new time to live.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="false"/> when the claim was lost (another holder has it, or it completed).</returns>
    ValueTask<bool> RenewClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>
    /// Marks a request completed and keeps its replies, so a redelivery re-sends them — only if
    /// <paramref name="holder"/> holds the claim, or no claim is left (a late completion still
    /// serves later deliveries). A claim another holder took over is left to it.
    /// </summary>
    /// <param name="id">The request.</param>
    /// <param name="holder">The holder.</param>
    /// <param name="replies">The replies, in order.</param>
    /// <param name="timeToLive">How long to keep them.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="false"/> when another holder has the claim (nothing was written).</returns>
    ValueTask<bool> CompleteClaimAsync(CorrelationId id, string holder, IReadOnlyList<RpcReply> replies, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Drops a claim held by <paramref name="holder"/> that did not complete (so a redelivery may run it).</summary>
    /// <param name="id">The request.</param>
    /// <param name="holder">The holder.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when done.</returns>
    ValueTask ReleaseClaimAsync(CorrelationId id, string holder, CancellationToken cancellationToken);

    /// <summary>
    /// Whether a server is running the request now: it holds a live claim that has not completed.
    /// Asked by a caller whose transport never moves a request from a member that went away to
    /// another one (MQTT): a request still unanswered and not running — never claimed, its holder
    /// dead (the claim expired), or completed with a reply that was lost — is published again, and
    /// the claims keep it to one run (a completed one is answered with its stored replies).
    /// </summary>
    /// <param name="id">The request.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when running, <see langword="false"/> when not (no claim, or a completed one), <see langword="null"/> when the store cannot tell.</returns>
    /// <remarks>The default implementation cannot tell.</remarks>
    ValueTask<bool?> IsRunningAsync(CorrelationId id, CancellationToken cancellationToken) => ValueTask.FromResult<bool?>(null);

    /// <summary>
    /// The replies a completed claim keeps — what a redelivery of the request is answered with, and
    /// what <see cref="IRpcResults"/> reads when no reply reached a caller that could store it (the
    /// caller died, and over MQTT nobody reads its reply topic any more).
    /// </summary>
    /// <param name="id">The request.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The replies, in order; empty when the request has not completed (or its claim is gone); <see langword="null"/> when the store cannot tell.</returns>
    /// <remarks>The default implementation cannot tell.</remarks>
    ValueTask<IReadOnlyList<RpcReply>?> GetCompletedRepliesAsync(CorrelationId id, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<RpcReply>?>(null);

    /// <summary>
    /// Tells the servers of <paramref name="service"/> that the caller of a request gave up on it:
    /// records a cancel marker for the request (so a delivery not claimed yet is not run: see
    /// <see cref="TryClaimAsync(CorrelationId, string, TimeSpan, RpcClaimConditions, CancellationToken)"/>)
    /// and then signals every subscriber of the service's cancellations, so the instance running it
    /// cancels its handler.
    /// </summary>
    /// <param name="service">The service name.</param>
    /// <param name="id">The request.</param>
    /// <param name="requestDeadlineUnixMs">The deadline the cancelled request carried: a later request with the same id (an idempotent retry) is not cancelled.</param>
    /// <param name="timeToLive">How long to keep the marker (until the request's deadline has passed).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> once the marker is stored and the signal sent; <see langword="false"/> for a store that does not carry cancellations.</returns>
    /// <remarks>
    /// The default implementation does nothing and returns <see langword="false"/>: servers then stop at the
    /// request's deadline.
    /// </remarks>
    ValueTask<bool> CancelAsync(string service, CorrelationId id, long requestDeadlineUnixMs, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        ValueTask.FromResult(false);

    /// <summary>Subscribes to the cancellations of a service's requests (see <see cref="CancelAsync"/>).</summary>
    /// <param name="service">The service name.</param>
    /// <param name="onCancel">
    /// Called with the request's id and the deadline the cancelled request carried (unix ms) for
    /// each cancellation — a later request under the same id (an idempotent retry) has another
    /// deadline and is not the one cancelled; must not throw.
    /// </param>
    /// <param name="cancellationToken">Cancels the subscribe.</param>
    /// <returns>The subscription; dispose to stop.</returns>
    /// <remarks>The default implementation subscribes to nothing.</remarks>
    ValueTask<IAsyncDisposable> SubscribeCancellationsAsync(string service, Func<CorrelationId, long, ValueTask> onCancel, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IAsyncDisposable>(NoSubscription.Instance);

    /// <summary>The subscription of a store that has nothing to subscribe to.</summary>
    private sealed class NoSubscription : IAsyncDisposable
    {
        public static readonly NoSubscription Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
