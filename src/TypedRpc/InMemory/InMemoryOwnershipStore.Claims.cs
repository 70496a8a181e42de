using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

// Claims and cancellations (IRpcClaimStore): kept under the same lock as owners and replies.
public sealed partial class InMemoryOwnershipStore
{
    /// <inheritdoc />
    /// <remarks>Always: a claim writes its owner record under the same lock.</remarks>
    public bool RecordsOwners => true;

    /// <inheritdoc />
    /// <remarks>
    /// A running claim answers <see cref="RpcClaimState.Running"/> to every other holder and
    /// <see cref="RpcClaimState.Claimed"/> (renewed) to its own; a completed one answers
    /// <see cref="RpcClaimState.Completed"/>; a released or expired one can be claimed again.
    /// <see cref="RpcClaim.Holder"/> is set in every state.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        TryClaimAsync(id, holder, timeToLive, default, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive, or the conditions' deadline is negative.</exception>
    public ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, RpcClaimConditions conditions, CancellationToken cancellationToken)
    {
        StoreArguments.Claim(id, holder, timeToLive, conditions);
        return TryClaimCoreAsync(id, holder, timeToLive, conditions, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The marker is visible to claims at once; subscribers are signalled on the thread pool, as wake-ups are.</remarks>
    /// <exception cref="ArgumentException"><paramref name="service"/> is null or empty, or <paramref name="id"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="requestDeadlineUnixMs"/> is not positive, or <paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> CancelAsync(string service, CorrelationId id, long requestDeadlineUnixMs, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        StoreArguments.Cancel(service, id, requestDeadlineUnixMs, timeToLive);
        return CancelCoreAsync(service, id, requestDeadlineUnixMs, timeToLive, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Callbacks run on the thread pool, in order and one at a time per subscription.</remarks>
    /// <exception cref="ArgumentException"><paramref name="service"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="onCancel"/> is null.</exception>
    public ValueTask<IAsyncDisposable> SubscribeCancellationsAsync(string service, Func<CorrelationId, long, ValueTask> onCancel, CancellationToken cancellationToken)
    {
        StoreArguments.Subscribe(service, onCancel, nameof(service), nameof(onCancel));
        return SubscribeCoreAsync(_cancellations, service, onCancel, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> RenewClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        StoreArguments.Claim(id, holder, timeToLive);
        return RenewClaimCoreAsync(id, holder, timeToLive, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Written when <paramref name="holder"/> holds the claim or none is left; a claim another holder took over is left alone.</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, <paramref name="holder"/> is null or empty, or <paramref name="replies"/> contains null or a reply of another call.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="replies"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> CompleteClaimAsync(CorrelationId id, string holder, IReadOnlyList<RpcReply> replies, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        StoreArguments.CompleteClaim(id, holder, replies, timeToLive);
        var copies = new RpcReply[replies.Count];
        for (var i = 0; i < copies.Length; i++)
        {
            copies[i] = InMemoryCopies.Copy(replies[i]);
        }

        return CompleteClaimCoreAsync(id, holder, copies, timeToLive, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Does nothing when the claim is held by another holder or has completed (its replies stay).</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    public ValueTask ReleaseClaimAsync(CorrelationId id, string holder, CancellationToken cancellationToken)
    {
        StoreArguments.IdAndName(id, holder, nameof(holder));
        return ReleaseClaimCoreAsync(id, holder, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>A claim that expired counts as none, a completed one as not running.</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    public ValueTask<bool?> IsRunningAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        StoreArguments.Id(id);
        return IsRunningCoreAsync(id, cancellationToken);
    }

    private async ValueTask<bool?> IsRunningCoreAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            return _claims.TryGetValue(id, out var claim) && claim.ExpiresAt > Now() && claim.Replies is null;
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    public ValueTask<IReadOnlyList<RpcReply>?> GetCompletedRepliesAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        StoreArguments.Id(id);
        return GetCompletedRepliesCoreAsync(id, cancellationToken);
    }

    private async ValueTask<IReadOnlyList<RpcReply>?> GetCompletedRepliesCoreAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            return _claims.TryGetValue(id, out var claim) && claim.ExpiresAt > Now() && claim.Replies is { } replies
                ? replies
                : Array.Empty<RpcReply>();
        }
    }

    private async ValueTask<RpcClaim> TryClaimCoreAsync(CorrelationId id, string holder, TimeSpan timeToLive, RpcClaimConditions conditions, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            if (conditions.RequestDeadlineUnixMs != 0 && _cancels.TryGetValue(id, out var cancel) && cancel.ExpiresAt > now
                && cancel.RequestDeadlineUnixMs == conditions.RequestDeadlineUnixMs)
            {
                return new RpcClaim(RpcClaimState.Cancelled, null, Array.Empty<RpcReply>());
            }

            var live = _claims.TryGetValue(id, out var claim) && claim.ExpiresAt > now;
            if (live && conditions.Fingerprint is not null && claim.Fingerprint is not null
                && !string.Equals(claim.Fingerprint, conditions.Fingerprint, StringComparison.Ordinal))
            {
                return new RpcClaim(RpcClaimState.Conflict, claim.Holder, Array.Empty<RpcReply>());
            }

            if (live)
            {
                if (claim.Replies is not null)
                {
                    return new RpcClaim(RpcClaimState.Completed, claim.Holder, claim.Replies);
                }

                if (!string.Equals(claim.Holder, holder, StringComparison.Ordinal))
                {
                    return new RpcClaim(RpcClaimState.Running, claim.Holder, Array.Empty<RpcReply>());
                }
            }

            _claims[id] = (holder, null, ExpiresAt(now, timeToLive), conditions.Fingerprint ?? (live ? claim.Fingerprint : null));
            if (conditions.Owner is { } owner && !(_owners.TryGetValue(id, out var recorded) && recorded.ExpiresAt > now))
            {
                _owners[id] = (owner, ExpiresAt(now, conditions.OwnerTimeToLive));
            }

            OnWrite(now);
            return new RpcClaim(RpcClaimState.Claimed, holder, Array.Empty<RpcReply>());
        }
    }

    private async ValueTask<bool> CancelCoreAsync(string service, CorrelationId id, long requestDeadlineUnixMs, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            _cancels[id] = (requestDeadlineUnixMs, ExpiresAt(now, timeToLive));
            OnWrite(now);
        }

        // After the lock: a claim made from now on sees the marker, so a server signalled here
        // either holds the claim already or will be refused it.
        Post(_cancellations, service, id, requestDeadlineUnixMs);
        return true;
    }

    private async ValueTask<bool> RenewClaimCoreAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            var live = _claims.TryGetValue(id, out var claim) && claim.ExpiresAt > now;
            if (live && (claim.Replies is not null || !string.Equals(claim.Holder, holder, StringComparison.Ordinal)))
            {
                return false;
            }

            // Held by this holder, or gone (it expired while renewals failed and nobody took it):
            // taken again, so the request stays claimed while its handler runs.
            _claims[id] = (holder, null, ExpiresAt(now, timeToLive), live ? claim.Fingerprint : null);
            return true;
        }
    }

    private async ValueTask<bool> CompleteClaimCoreAsync(CorrelationId id, string holder, RpcReply[] replies, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            var live = _claims.TryGetValue(id, out var claim) && claim.ExpiresAt > now;
            if (live && !string.Equals(claim.Holder, holder, StringComparison.Ordinal))
            {
                return false;
            }

            _claims[id] = (holder, replies, ExpiresAt(now, timeToLive), live ? claim.Fingerprint : null);
            OnWrite(now);
            return true;
        }
    }

    private async ValueTask ReleaseClaimCoreAsync(CorrelationId id, string holder, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            if (!_claims.TryGetValue(id, out var claim))
            {
                return;
            }

            var expired = claim.ExpiresAt <= Now();
            var heldByCaller = claim.Replies is null && string.Equals(claim.Holder, holder, StringComparison.Ordinal);
            if (expired || heldByCaller)
            {
                _claims.Remove(id);
            }
        }
    }
}
