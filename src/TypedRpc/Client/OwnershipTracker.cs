using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using TypedRpc.Diagnostics;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.Client;

/// <summary>
/// This instance's side of the ownership store: it records the owner of each call (and of each
/// result waited for by id), takes an idempotent call over from another instance, forwards or
/// stores the replies no waiter here accepts, and listens for the wake-ups that say a reply was
/// forwarded here. Without a store only unmatched replies are handled (given to the
/// <see cref="IUnmatchedReplyHandler"/>).
/// </summary>
internal sealed class OwnershipTracker
{
    private const int UnmatchedAttempts = 3;
    private static readonly TimeSpan WakeUpRetryDelay = TimeSpan.FromMilliseconds(500);

    private readonly IRpcOwnershipStore? _store;
    private readonly IUnmatchedReplyHandler? _unmatchedHandler;
    private readonly TypedRpcOptions _options;
    private readonly CallTable _calls;
    private readonly ILogger _logger;
    private IRpcReplySubscription? _replies;
    private IAsyncDisposable? _wakeUps;

    // Per service: whether its servers' claims were last seen writing the callers' owner records
    // (RpcReply.OwnerRecorded). Until a reply says so, and again after one says otherwise (claims
    // off, another store, an older server), a plain call writes its owner record itself.
    private readonly ConcurrentDictionary<string, bool> _recordedByServers = new(StringComparer.Ordinal);

    /// <param name="store">The ownership store, or <see langword="null"/> to run without one.</param>
    /// <param name="unmatchedHandler">Receives replies no waiter accepted, or <see langword="null"/>.</param>
    /// <param name="options">Validated settings.</param>
    /// <param name="calls">The waiting calls: their timers bound the store operations, and forwarded replies are offered to them.</param>
    /// <param name="logger">The client's logger.</param>
    public OwnershipTracker(IRpcOwnershipStore? store, IUnmatchedReplyHandler? unmatchedHandler, TypedRpcOptions options, CallTable calls, ILogger logger)
    {
        _store = store;
        _unmatchedHandler = unmatchedHandler;
        _options = options;
        _calls = calls;
        _logger = logger;
    }

    /// <summary>Whether calls record their owner (a store is configured and ownership is on).</summary>
    public bool Enabled => _store is not null;

    /// <summary>The signals for results waited for by id.</summary>
    public ResultWatchers Watchers { get; } = new();

    private string InstanceId => _options.InstanceId;

    private RpcReplyAddress ReplyAddress => _replies?.Address ?? default;

    /// <summary>
    /// Starts tracking for the client's reply subscription: subscribes to wake-ups, or — when the
    /// store is down — starts degraded and subscribes in the background once it is back.
    /// </summary>
    public async Task StartAsync(IRpcReplySubscription replies, CancellationToken cancellationToken)
    {
        _replies = replies;
        if (_store is null)
        {
            return;
        }

        try
        {
            _wakeUps = await _store.SubscribeWakeUpsAsync(InstanceId, OnWakeUpAsync, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Calls behave as WhenStoreUnavailable says while the store is down; wake-ups missed
            // until the subscription is made are covered by the store check at each deadline.
            Log.WakeUpsDeferred(_logger, ex, InstanceId);
            _ = Task.Run(SubscribeWakeUpsLaterAsync, CancellationToken.None);
        }
    }

    /// <summary>Drops the wake-up subscription (the call table is closed by then).</summary>
    public async ValueTask StopAsync()
    {
        if (Interlocked.Exchange(ref _wakeUps, null) is { } wakeUps)
        {
            await wakeUps.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task SubscribeWakeUpsLaterAsync()
    {
        while (!_calls.IsClosed)
        {
            try
            {
                await Task.Delay(WakeUpRetryDelay).ConfigureAwait(false);
                var subscription = await _store!.SubscribeWakeUpsAsync(InstanceId, OnWakeUpAsync, CancellationToken.None)
                    .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                _wakeUps = subscription;

                // Stopped meanwhile: whichever of the two takes the subscription disposes it.
                if (_calls.IsClosed && Interlocked.Exchange(ref _wakeUps, null) is { } late)
                {
                    await late.DisposeAsync().ConfigureAwait(false);
                    return;
                }

                Log.WakeUpsSubscribed(_logger, InstanceId);
                return;
            }
            catch (Exception ex)
            {
                Log.WakeUpsDeferred(_logger, ex, InstanceId);
            }
        }
    }

    /// <summary>
    /// The expiry (unix ms) of a plain call's owner record when the server's claim writes it: as
    /// long as the caller may wait (the deadline and the method's one-time extension), plus the
    /// grace period for late replies and clocks that disagree.
    /// </summary>
    public long OwnerRecordUntil(long deadlineUnixMs, RpcMethodDescriptor method) =>
        deadlineUnixMs + (long)method.ExtendBy.TotalMilliseconds + (long)_options.OwnerGracePeriod.TotalMilliseconds;

    /// <summary>Whether the servers of <paramref name="service"/> were last seen writing their callers' owner records with their claims.</summary>
    public bool RecordedByServers(string service) => _recordedByServers.TryGetValue(service, out var recorded) && recorded;

    /// <summary>
    /// Learns from the first reply to a call that left its owner record to the server whether the
    /// service's servers write it (<see cref="RpcReply.OwnerRecorded"/>).
    /// </summary>
    public void LearnFrom(RpcServiceDescriptor service, RpcReply reply)
    {
        if (RecordedByServers(service.ServiceName) != reply.OwnerRecorded)
        {
            _recordedByServers[service.ServiceName] = reply.OwnerRecorded;
            Log.OwnerRecordingLearned(_logger, service.ServiceName, reply.OwnerRecorded);
        }
    }

    /// <summary>
    /// Records <paramref name="call"/>'s owner while its request is sent (a plain call: nothing can
    /// be stored under a new id yet). Never throws: a failure ends the call, unless
    /// <see cref="StoreFailureMode.SendWithoutOwnership"/> allows running without the record.
    /// </summary>
    public async Task RegisterAlongsideAsync(PendingCall call, RpcMethodDescriptor method)
    {
        try
        {
            await RegisterAsync(call, method, idempotent: false).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.OwnerNotRecorded(_logger, ex, call.Id);
            call.TryEnd(CallState.Failed, new RpcStatus(RpcStatusCode.Unavailable, "The ownership store could not record the call: " + ex.Message));
        }
    }

    /// <summary>
    /// Records <paramref name="call"/>'s owner before its request is sent. For an idempotent call
    /// the key's record is read first: another request under the key is refused, another instance's
    /// call is taken over, and a result already stored for this very request answers the call.
    /// The call's timer bounds the store operations meanwhile.
    /// </summary>
    /// <returns>
    /// Whether the request should be sent: <see langword="false"/> when the call has ended (refused,
    /// answered, timed out). A store failure is thrown, unless running without ownership is allowed.
    /// </returns>
    public async Task<bool> RegisterAsync(PendingCall call, RpcMethodDescriptor method, bool idempotent)
    {
        // The wheel bounds the store operation: the call's timer fires at the store timeout (or the
        // deadline, if sooner) while the owner is being recorded.
        call.Phase = CallPhase.RegisteringOwner;
        _calls.Schedule(call, Math.Min(call.DeadlineMs, TimerWheel.NowMs + (long)_options.StoreOperationTimeout.TotalMilliseconds));

        // Whether the key's record names this very request: only then may a stored result answer it.
        var confirmed = false;
        try
        {
            if (idempotent && await _store!.GetOwnerAsync(call.Id, CancellationToken.None).ConfigureAwait(false) is { } previous)
            {
                confirmed = previous.Fingerprint is not null && previous.Fingerprint == call.Fingerprint;
                if (previous.Fingerprint is not null && call.Fingerprint is not null && previous.Fingerprint != call.Fingerprint)
                {
                    // The key names another request: refused before anything is recorded or sent.
                    call.TryEnd(CallState.Failed, RpcIdempotency.KeyReusedStatus);
                    return false;
                }

                if (!string.Equals(previous.InstanceId, InstanceId, StringComparison.Ordinal))
                {
                    // A retry of a call another instance made (it may be gone): this one takes over.
                    RpcMetrics.Takeovers.Add(1);
                }
            }

            var waited = TimeSpan.FromMilliseconds(Math.Max(0, call.DeadlineMs - TimerWheel.NowMs)) + method.ExtendBy;
            await _store!.RegisterOwnerAsync(call.Id, Self(call.Fingerprint), TimeToLive(waited), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (_options.WhenStoreUnavailable == StoreFailureMode.SendWithoutOwnership)
        {
            Log.OwnershipSkipped(_logger, ex, call.Id);
        }

        if (call.IsTerminal || (idempotent && confirmed && await AnswerFromStoreAsync(call).ConfigureAwait(false)))
        {
            return false;
        }

        call.Phase = CallPhase.Waiting;
        _calls.Schedule(call, call.WaitDueMs);
        return true;
    }

    /// <summary>
    /// Takeover of a confirmed idempotent call: a retry (perhaps on another instance, the first one
    /// gone) may find the result already stored, and is then answered without sending. The owner
    /// is recorded first, so a reply arriving from now on is forwarded here.
    /// </summary>
    /// <returns>Whether the call has ended.</returns>
    private async ValueTask<bool> AnswerFromStoreAsync(PendingCall call)
    {
        // A stored DeadlineExceeded end says only that an earlier attempt got no result in time
        // (say, its request reached a server late and was not run): this retry is sent again
        // rather than answered with it — and then none of that attempt's messages are delivered,
        // so a stream is never spliced from two runs. Without a confirmed record (it expired, or
        // a result poll rewrote it) the request is sent: the server's claim knows the fingerprint
        // and re-sends the stored result.
        var stored = await _store!.GetRepliesAsync(call.Id, CancellationToken.None).ConfigureAwait(false);
        if (stored.Count > 0 && stored[^1] is not { IsEnd: true, Status: RpcStatusCode.DeadlineExceeded })
        {
            foreach (var reply in stored)
            {
                call.TryDeliver(reply);
            }
        }

        return call.IsTerminal;
    }

    /// <summary>Records this instance as the owner of a result waited for by id (see <see cref="IResultOwnership.TakeOverAsync"/>).</summary>
    public async ValueTask TakeOverAsync(CorrelationId id, TimeSpan waited, CancellationToken cancellationToken) =>
        await _store!.RegisterOwnerAsync(id, Self(null), TimeToLive(waited), cancellationToken)
            .AsTask().WaitAsync(_options.StoreOperationTimeout, cancellationToken).ConfigureAwait(false);

    /// <summary>An owner record lives as long as its caller waits, plus the grace period for late replies and clocks that disagree.</summary>
    private TimeSpan TimeToLive(TimeSpan waited) => waited + _options.OwnerGracePeriod;

    private RpcOwner Self(string? fingerprint) => new(InstanceId, ReplyAddress) { Fingerprint = fingerprint };

    private async ValueTask OnWakeUpAsync(CorrelationId id)
    {
        try
        {
            Watchers.Wake(id);
            if (_store is null || !_calls.TryGetValue(id, out var call) || call.IsTerminal)
            {
                return;
            }

            var replies = await _store.GetRepliesAsync(id, CancellationToken.None).AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
            foreach (var reply in replies)
            {
                if (call.TryDeliver(reply))
                {
                    RpcMetrics.RepliesDelivered.Add(1, new KeyValuePair<string, object?>("route", "forwarded"));
                }
            }
        }
        catch (Exception ex)
        {
            Log.StoreCheckFailed(_logger, ex, id);
        }
    }

    /// <summary>
    /// A reply no waiter here accepted: forwarded to its owner through the store, or stored under
    /// its id (for <see cref="IRpcResults"/>), then given to the <see cref="IUnmatchedReplyHandler"/>.
    /// </summary>
    public async ValueTask HandleUnmatchedAsync(RpcReply reply, UnmatchedReason reason)
    {
        // A refused reuse of an idempotency key carries the key's id, but answers only the call
        // that reused it: stored or forwarded, it would stand for the first request's result.
        if (_store is not null && !(reply.Status == RpcStatusCode.FailedPrecondition && RpcIdempotency.IsKeyReused(reply.ToStatus()))
            && await ForwardOrStoreAsync(_store, reply, reason).ConfigureAwait(false))
        {
            // Its owner's: forwarded there, or read there too (broadcast routing).
            return;
        }

        if (_unmatchedHandler is not null)
        {
            try
            {
                await _unmatchedHandler.OnUnmatchedReplyAsync(reply, reason).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.UnmatchedHandlerThrew(_logger, ex, reply.Id);
            }
        }
    }

    /// <returns>Whether the reply belongs to another instance (forwarded, or read there too); <see langword="false"/> when stored here or given up.</returns>
    private async ValueTask<bool> ForwardOrStoreAsync(IRpcOwnershipStore store, RpcReply reply, UnmatchedReason reason)
    {
        // A reply nobody here waits for exists only in this record: keep trying (bounded) to store
        // or forward it rather than drop it on one failed store operation.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var owner = await store.GetOwnerAsync(reply.Id, CancellationToken.None).AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                var forward = owner is not null && !string.Equals(owner.InstanceId, InstanceId, StringComparison.Ordinal);
                if (forward && _replies is { ReceivesEveryReply: true })
                {
                    // Broadcast routing: the owner reads this reply itself.
                    RpcMetrics.RepliesIgnored.Add(1);
                    return true;
                }

                await store.StoreReplyAsync(reply, _options.ResultTimeToLive, forward ? owner!.InstanceId : null, CancellationToken.None)
                    .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                if (forward)
                {
                    RpcMetrics.RepliesForwarded.Add(1);
                    Log.ReplyForwarded(_logger, reply.Id, owner!.InstanceId);
                    return true;
                }

                // "late": this instance owns the call but nobody waits any more (timed out, Pending);
                // "unknown": no owner record (expired, or a stray reply).
                RpcMetrics.RepliesStored.Add(1, new KeyValuePair<string, object?>("reason", owner is null ? "unknown" : "late"));
                Watchers.Wake(reply.Id);
                Log.UnmatchedReply(_logger, reply.Id, reason);
                return false;
            }
            catch (Exception ex) when (attempt < UnmatchedAttempts && !_calls.IsClosed)
            {
                Log.UnmatchedReplyFailed(_logger, ex, reply.Id);
                await Task.Delay(100 * attempt).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.UnmatchedReplyFailed(_logger, ex, reply.Id);
                return false;
            }
        }
    }
}
