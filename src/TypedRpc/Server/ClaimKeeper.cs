using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using TypedRpc.Diagnostics;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.Server;

/// <summary>
/// The claims of one served contract, through their whole life: claims a request for a delivery,
/// renews the running claims, fences a handler whose claim cannot be confirmed, completes a claim
/// with its replies (retrying, with the claim kept alive, when the store fails), and lets go of a
/// claim whose request did not complete here. Also hears the callers' cancellations.
/// </summary>
/// <remarks>
/// Claims are leases renewed every third of <see cref="TypedRpcOptions.ClaimTimeToLive"/>: a server
/// that dies stops renewing, its claims expire, and a redelivery takes the request over. A live
/// server that cannot renew fences itself before its claim can expire, so the two never run side by side.
/// </remarks>
internal sealed class ClaimKeeper
{
    private readonly IRpcClaimStore _store;
    private readonly string _service;
    private readonly TypedRpcOptions _options;
    private readonly ILogger _logger;

    // The claims this host holds for requests running now (and completions still to store).
    private readonly ConcurrentDictionary<CorrelationId, HeldClaim> _held = new();
    private readonly RecentCancels _recentCancels = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeSpan _fenceAfter;
    private readonly string _holderPrefix;
    private IAsyncDisposable? _cancellations;
    private Task? _renewing;
    private long _deliveries;

    public ClaimKeeper(IRpcClaimStore store, string service, TypedRpcOptions options, ILogger logger)
    {
        _store = store;
        _service = service;
        _options = options;
        _logger = logger;
        RenewInterval = options.ClaimTimeToLive / 3;

        // The store expires a claim ClaimTimeToLive (three intervals) after the last renewal reached
        // it, which is no earlier than when that renewal was sent. A claim is fenced at the first
        // tick at least one and a half intervals after its last confirmation: two renewals in a row
        // failed, and there is still about an interval before the claim can expire — time for the
        // cancelled handler to stop before another delivery can claim the request.
        _fenceAfter = options.ClaimTimeToLive - RenewInterval * 1.5;

        // Holder names must differ across processes that reuse an instance id (a restarted pod):
        // a claim left by the dead process is then not mistaken for this one's.
        _holderPrefix = string.Concat(options.InstanceId, "/", Random.Shared.Next().ToString("x8", CultureInfo.InvariantCulture), "-");
    }

    /// <summary>How often running claims are renewed: a third of their time to live.</summary>
    public TimeSpan RenewInterval { get; }

    /// <summary>Claims held now: running, being completed, or with a completion to retry.</summary>
    public int HeldCount => _held.Count;

    /// <summary>
    /// A holder name for one delivery: a second delivery of a request to this same instance is
    /// told apart from the first, and a claim retried after a timeout is recognised as its own.
    /// </summary>
    public string NextHolder() =>
        string.Concat(_holderPrefix, Interlocked.Increment(ref _deliveries).ToString("x", CultureInfo.InvariantCulture));

    /// <summary>Starts the renewal loop and subscribes to the service's cancellations (later, when the store does not answer now).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _renewing = Task.Run(RenewLoopAsync, CancellationToken.None);

        // Before requests arrive, so that no handler runs unaware of its cancellation.
        try
        {
            _cancellations = await _store.SubscribeCancellationsAsync(_service, OnCancelAsync, cancellationToken)
                .AsTask().WaitAsync(_options.StoreOperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The store is down: serve anyway (claims behave as WhenStoreUnavailable says) and
            // subscribe once it answers; meanwhile cancelled handlers run to their deadline.
            Log.CancellationsDeferred(_logger, ex, _service);
            _ = Task.Run(SubscribeCancellationsLaterAsync, CancellationToken.None);
        }
    }

    /// <summary>
    /// Stops renewing and hearing cancellations — once the handlers have returned: a claim dropped
    /// while its handler runs could let a redelivery run the request side by side — and gives every
    /// result not stored yet one more try.
    /// </summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_renewing is not null)
        {
            await _renewing.ConfigureAwait(false);
        }

        if (Interlocked.Exchange(ref _cancellations, null) is { } cancellations)
        {
            await cancellations.DisposeAsync().ConfigureAwait(false);
        }

        var pending = new List<Task>();
        foreach (var held in _held.Values)
        {
            if (held.State == HeldClaim.CompletionPending)
            {
                pending.Add(RetryCompletionAsync(held));
            }
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    /// <summary>Claims the request for this delivery, and holds the claim (renewed until it ends) when it is to run.</summary>
    /// <param name="request">The request.</param>
    /// <param name="holder">This delivery's holder name (<see cref="NextHolder"/>).</param>
    /// <param name="waited">Whether this delivery waited already for another holder.</param>
    /// <param name="expired">
    /// Whether the request is past its deadline: the claim then only tells what happened — a
    /// claim taken now is let go again (<see cref="ClaimVerdict.Expired"/>), one running elsewhere is
    /// left to answer, a completed one has its replies re-sent.
    /// </param>
    public async ValueTask<ClaimResult> ClaimAsync(RpcRequest request, string holder, bool waited, bool expired)
    {
        RpcClaim claim;
        long sent;
        bool ownerRecorded;
        try
        {
            (claim, sent, ownerRecorded) = await TryClaimAsync(request, holder).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return WhenClaimFailed(ex, request, holder, waited, expired);
        }

        switch (claim.State)
        {
            case RpcClaimState.Claimed when expired:
                try
                {
                    await ReleaseAsync(request.Id, holder).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // It expires within ClaimTimeToLive; until then a retry under this id waits.
                    Log.ClaimFailed(_logger, ex, request.Id);
                }

                return new ClaimResult(ClaimVerdict.Expired);

            case RpcClaimState.Claimed:
                if (waited)
                {
                    RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "taken_over"));
                    Log.ClaimTakenOver(_logger, request.Id, claim.Holder);
                }

                var held = Hold(request, holder, canFence: true, sent);
                held.OwnerRecorded = ownerRecorded;

                // Registered first, then looked for among the remembered cancels, while a cancel is
                // remembered first and then looked for among the held claims: whichever comes second sees the other.
                if (_recentCancels.TryTake(request.Id, request.DeadlineUnixMs))
                {
                    held.CancelByCaller();
                }

                return new ClaimResult(ClaimVerdict.Run, held);

            case RpcClaimState.Cancelled:
                return new ClaimResult(ClaimVerdict.Cancelled);

            case RpcClaimState.Conflict:
                return new ClaimResult(ClaimVerdict.Conflict);

            case RpcClaimState.Completed:
                return new ClaimResult(ClaimVerdict.Completed, Replies: claim.Replies);

            default:
                if (expired)
                {
                    // Running elsewhere: that delivery answers.
                    Log.DuplicateExpired(_logger, request.Id, claim.Holder);
                    return new ClaimResult(ClaimVerdict.LeftToHolder);
                }

                if (!waited)
                {
                    Log.DuplicateRunning(_logger, request.Id, claim.Holder);
                }

                return new ClaimResult(ClaimVerdict.Wait);
        }
    }

    private ClaimResult WhenClaimFailed(Exception ex, RpcRequest request, string holder, bool waited, bool expired)
    {
        if (waited)
        {
            // The holder may still answer; keep waiting within the deadline.
            Log.ClaimRenewFailed(_logger, ex, request.Id);
            return new ClaimResult(ClaimVerdict.Wait);
        }

        Log.ClaimFailed(_logger, ex, request.Id);
        if (expired || _options.WhenStoreUnavailable == StoreFailureMode.FailCall)
        {
            // Not run here: expired, or refused because without a claim it could run twice (the
            // answer to an expired one is provisional: a stored real result replaces it). The claim
            // may have been taken unseen (a timeout): let it go, so a redelivery is not held up.
            ObserveLater(ReleaseAsync(request.Id, holder));
            return new ClaimResult(expired ? ClaimVerdict.Expired : ClaimVerdict.Unavailable);
        }

        // Run without a claim, as configured; renewal takes the claim once the store answers, so
        // later deliveries see it (there is nothing to fence against until then).
        return new ClaimResult(ClaimVerdict.Run, Hold(request, holder, canFence: false, confirmedAt: 0));
    }

    private HeldClaim Hold(RpcRequest request, string holder, bool canFence, long confirmedAt)
    {
        var held = new HeldClaim(this, request.Id, holder, canFence) { ConfirmedAt = confirmedAt, RequestDeadlineUnixMs = request.DeadlineUnixMs };
        _held[request.Id] = held;
        return held;
    }

    /// <summary>
    /// One claim, bounded by the store timeout; after a timeout it is tried once more with the same
    /// holder — the first attempt may have succeeded unseen, and a claim by its own holder is Claimed.
    /// Also returns when the successful attempt was sent (the claim's time to live counts from later),
    /// and whether a Claimed answer means the caller's owner record was written with it.
    /// </summary>
    private async Task<(RpcClaim Claim, long Sent, bool OwnerRecorded)> TryClaimAsync(RpcRequest request, string holder)
    {
        var conditions = new RpcClaimConditions(request.DeadlineUnixMs, request.Fingerprint);
        if (request.OwnerRecordUntilUnixMs > 0 && _store.RecordsOwners)
        {
            // The caller left its owner record to this claim: written before the handler runs,
            // so it exists before any reply can land on another instance. None for a request
            // arriving after the record's end (it would expire at once).
            var left = request.OwnerRecordUntilUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (left > 0)
            {
                conditions = conditions with { Owner = new RpcOwner(request.Owner, request.ReplyTo), OwnerTimeToLive = TimeSpan.FromMilliseconds(left) };
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            var sent = Stopwatch.GetTimestamp();
            try
            {
                var claim = await _store.TryClaimAsync(request.Id, holder, _options.ClaimTimeToLive, conditions, CancellationToken.None).AsTask()
                    .WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                return (claim, sent, conditions.Owner is not null);
            }
            catch (TimeoutException) when (attempt < 2)
            {
            }
        }
    }

    /// <summary>Stores the replies with the claim; called by the call as its final reply is sent. Never throws.</summary>
    internal async ValueTask CompleteAsync(HeldClaim held, IReadOnlyList<RpcReply> replies)
    {
        // Not renewed from now on: the completed claim lives for ResultTimeToLive.
        held.State = HeldClaim.Completing;
        try
        {
            await StoreResultAsync(held, replies).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The reply still goes out. The claim stays held — renewed, so a waiting duplicate keeps
            // waiting rather than running the request again — and storing the result is retried.
            Log.ClaimCompletionDeferred(_logger, ex, held.Id);
            held.Replies = replies;
            held.GiveUpAt = Stopwatch.GetTimestamp() + (long)(_options.ResultTimeToLive.TotalSeconds * Stopwatch.Frequency);
            held.State = HeldClaim.CompletionPending;
        }
    }

    /// <summary>Stops holding a claim whose request did not complete here and drops it in the store, so another delivery may run the request. Never throws.</summary>
    internal async Task LetGoAsync(HeldClaim held)
    {
        if (!Forget(held))
        {
            return;
        }

        try
        {
            await ReleaseAsync(held.Id, held.Holder).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ClaimFailed(_logger, ex, held.Id);
        }
    }

    /// <summary>The run under the claim is over: the claim is no longer held here, unless storing its result is still to be retried.</summary>
    internal void EndRun(HeldClaim held)
    {
        if (held.State != HeldClaim.CompletionPending)
        {
            Forget(held);
        }
    }

    /// <summary>
    /// One round of the renewal loop: forgets old remembered cancels, renews every running claim
    /// (fencing one not confirmed for too long) and retries every completion not stored yet.
    /// </summary>
    internal async Task RenewAllAsync()
    {
        _recentCancels.Prune(Environment.TickCount64);
        if (_held.IsEmpty)
        {
            return;
        }

        var work = new List<Task>(_held.Count);
        foreach (var held in _held.Values)
        {
            switch (held.State)
            {
                case HeldClaim.Running:
                    work.Add(RenewAsync(held));
                    break;
                case HeldClaim.CompletionPending:
                    work.Add(RetryCompletionAsync(held));
                    break;
            }
        }

        await Task.WhenAll(work).ConfigureAwait(false);
    }

    /// <summary>A caller cancelled one of this service's requests: cancel its handler if it runs here.</summary>
    internal ValueTask OnCancelAsync(CorrelationId id, long requestDeadlineUnixMs)
    {
        // Remembered first, then looked for among the held claims (ClaimAsync does the opposite).
        _recentCancels.Add(id, requestDeadlineUnixMs, Environment.TickCount64);
        if (_held.TryGetValue(id, out var held) && held.RequestDeadlineUnixMs == requestDeadlineUnixMs
            && _recentCancels.TryTake(id, requestDeadlineUnixMs))
        {
            held.CancelByCaller();
        }

        return ValueTask.CompletedTask;
    }

    private async Task RenewLoopAsync()
    {
        using var timer = new PeriodicTimer(RenewInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                await RenewAllAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    // Never throws.
    private async Task RenewAsync(HeldClaim held)
    {
        if (held.CanFence && !held.Fenced && Stopwatch.GetElapsedTime(held.ConfirmedAt) >= _fenceAfter)
        {
            // Not confirmed for too long (the store does not answer): the claim may expire before the
            // next renewal could save it. Stop the handler; the renewal below still tries, so that if
            // the store answers the claim stays this delivery's until the handler has stopped.
            held.Fence();
        }

        var sent = Stopwatch.GetTimestamp();
        try
        {
            var renewed = await RenewInStoreAsync(held).ConfigureAwait(false);
            if (held.State != HeldClaim.Running)
            {
                // Completed meanwhile: the renewal raced the completion; nothing to do.
                return;
            }

            if (renewed)
            {
                held.ConfirmedAt = sent;
                return;
            }

            if (!held.CanFence)
            {
                // Running without a claim, and another delivery claimed it meanwhile: nothing to fence.
                Forget(held);
                return;
            }

            held.Lost = true;
            ReportLost(held);
            held.Fence();
        }
        catch (Exception ex)
        {
            // Fenced at a later tick if no renewal is confirmed in time.
            Log.ClaimRenewFailed(_logger, ex, held.Id);
        }
    }

    // Never throws.
    private async Task RetryCompletionAsync(HeldClaim held)
    {
        if (Stopwatch.GetTimestamp() > held.GiveUpAt)
        {
            Forget(held);
            Log.ClaimCompletionAbandoned(_logger, held.Id, _options.ResultTimeToLive);
            return;
        }

        try
        {
            await StoreResultAsync(held, held.Replies!).ConfigureAwait(false);
            return;
        }
        catch (Exception ex)
        {
            Log.ClaimRenewFailed(_logger, ex, held.Id);
        }

        // Still not stored: keep the claim alive meanwhile, or a waiting duplicate would take it
        // over when it expires and run the request again.
        try
        {
            if (!await RenewInStoreAsync(held).ConfigureAwait(false))
            {
                // Another delivery has it after all (it expired during an outage): its result stands.
                Forget(held);
                ReportLost(held);
            }
        }
        catch (Exception ex)
        {
            Log.ClaimRenewFailed(_logger, ex, held.Id);
        }
    }

    // Throws when the store fails; otherwise the claim is settled and no longer held.
    private async Task StoreResultAsync(HeldClaim held, IReadOnlyList<RpcReply> replies)
    {
        var written = await _store.CompleteClaimAsync(held.Id, held.Holder, replies, _options.ResultTimeToLive, CancellationToken.None)
            .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
        Forget(held);
        if (!written)
        {
            // Another delivery took the request over (this one stalled past its claim, or was fenced
            // but finished anyway); that one's result stands. This reply still goes out.
            ReportLost(held);
        }
    }

    // Throws when the store fails (callers catch).
    private Task<bool> RenewInStoreAsync(HeldClaim held) =>
        _store.RenewClaimAsync(held.Id, held.Holder, _options.ClaimTimeToLive, CancellationToken.None).AsTask().WaitAsync(_options.StoreOperationTimeout);

    private async Task ReleaseAsync(CorrelationId id, string holder) =>
        await _store.ReleaseClaimAsync(id, holder, CancellationToken.None).AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);

    // Removes this very claim from the table (a later delivery's claim under the same id stays).
    private bool Forget(HeldClaim held) => _held.TryRemove(new KeyValuePair<CorrelationId, HeldClaim>(held.Id, held));

    private void ReportLost(HeldClaim held)
    {
        RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "lost"));
        Log.ClaimLost(_logger, held.Id, held.Holder);
    }

    private static void ObserveLater(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private async Task SubscribeCancellationsLaterAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), _stop.Token).ConfigureAwait(false);
                var subscription = await _store.SubscribeCancellationsAsync(_service, OnCancelAsync, CancellationToken.None)
                    .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                _cancellations = subscription;

                // Stopped meanwhile: whichever of the two takes the subscription disposes it.
                if (_stop.IsCancellationRequested && Interlocked.Exchange(ref _cancellations, null) is { } late)
                {
                    await late.DisposeAsync().ConfigureAwait(false);
                }

                return;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.CancellationsDeferred(_logger, ex, _service);
            }
        }
    }
}
