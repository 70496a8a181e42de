using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TypedRpc.Diagnostics;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.Server;

/// <summary>
/// Serves one contract: consumes its requests as a member of the service's group, runs each at
/// most once (claims), with bounded concurrency, and replies. A request is acknowledged to the
/// transport only after its reply was handed over, so a crash before that means redelivery, and
/// the claim turns the redelivery into a re-send of the stored reply instead of a second run.
/// </summary>
/// <remarks>
/// Claims are short-lived and renewed: every running request's claim is extended every third of
/// <see cref="TypedRpcOptions.ClaimTimeToLive"/> by one loop per host. A server that dies stops
/// renewing, so its claims expire within that time, and a redelivered copy — which waits,
/// unacknowledged and without a concurrency slot, while the claim is held by someone else — takes
/// the request over and runs it. A live server that cannot renew (the store is unreachable) fences
/// itself: it cancels the handler before the claim can expire, so the two never run side by side.
/// The result is stored with the claim before the final reply is sent, so a server that dies
/// after its handler finished is answered from the store, never run again.
/// </remarks>
internal sealed class RpcServiceHost
{
    private readonly RpcServerRegistration _registration;

    // Set when the application registered the server class itself (it chose the lifetime):
    // resolved from the request's scope then, created per request (and disposed here) otherwise.
    private readonly Func<IServiceProvider, IRpcServiceBinding>? _resolve;
    private readonly IServiceProvider _services;
    private readonly IRpcTransport _transport;
    private readonly IRpcOwnershipStore? _store;
    private readonly IRpcSerializer _serializer;
    private readonly TypedRpcOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _concurrency;

    // Stop, in three steps: waiting duplicates stop waiting at once (they stay unacknowledged for
    // the next member); running handlers are cancelled after the drain timeout; claims are renewed
    // until the handlers are gone.
    private readonly CancellationTokenSource _stopRequested = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _renewStop = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<ServerCall, IReadOnlyList<RpcReply>, ValueTask> _completeClaim;

    // The claims this host holds for requests running now, renewed by one loop.
    private readonly ConcurrentDictionary<CorrelationId, HeldClaim> _held = new();
    private readonly TimeSpan _renewInterval;
    private readonly TimeSpan _fenceAfter;
    private readonly string _holderPrefix;
    private readonly RecentCancels _recentCancels = new();
    private IAsyncDisposable? _subscription;
    private IAsyncDisposable? _cancellations;
    private Task? _renewing;
    private long _deliveries;
    private int _running;

    public RpcServiceHost(RpcServerRegistration registration, IServiceProvider services, IRpcTransport transport, IRpcOwnershipStore? store,
        IRpcSerializer serializer, TypedRpcOptions options, ILogger logger)
    {
        _registration = registration;
        _resolve = services.GetService<IServiceProviderIsService>()?.IsService(registration.ImplementationType) == true ? registration.Resolve : null;
        _services = services;
        _transport = transport;
        _store = options.EnableClaims ? store : null;
        _serializer = serializer;
        _options = options;
        _logger = logger;
        _concurrency = new SemaphoreSlim(options.MaxConcurrentRequests, options.MaxConcurrentRequests);
        _completeClaim = CompleteClaimAsync;
        _renewInterval = options.ClaimTimeToLive / 3;

        // The store expires a claim ClaimTimeToLive (three intervals) after the last renewal reached
        // it, which is no earlier than when that renewal was sent. The loop fences a claim at the
        // first tick at least one and a half intervals after its last confirmation: two renewals in
        // a row failed, and there is still about an interval before the claim can expire — time
        // for the cancelled handler to stop before another delivery can claim the request.
        _fenceAfter = options.ClaimTimeToLive - _renewInterval * 1.5;

        // Holder names must differ across processes that reuse an instance id (a restarted pod):
        // a claim left by the dead process is then not mistaken for this one's.
        _holderPrefix = string.Concat(options.InstanceId, "/", Random.Shared.Next().ToString("x8", CultureInfo.InvariantCulture), "-");
    }

    public RpcServiceDescriptor Descriptor => _registration.Descriptor;

    /// <summary>Requests being handled right now (waiting duplicates not counted).</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Completes when the transport has assigned this member its share of the requests (at subscribe unless the subscription is an <see cref="IRpcRequestSubscription"/>).</summary>
    public Task Assigned => (_subscription as IRpcRequestSubscription)?.Assigned ?? Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_store is not null)
        {
            _renewing = Task.Run(RenewClaimsAsync, CancellationToken.None);

            // Before requests arrive, so that no handler runs unaware of its cancellation.
            try
            {
                _cancellations = await _store.SubscribeCancellationsAsync(Descriptor.ServiceName, OnCancelAsync, cancellationToken)
                    .AsTask().WaitAsync(_options.StoreOperationTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The store is down: serve anyway (claims behave as WhenStoreUnavailable says) and
                // subscribe once it answers; meanwhile cancelled handlers run to their deadline.
                Log.CancellationsDeferred(_logger, ex, Descriptor.ServiceName);
                _ = Task.Run(SubscribeCancellationsLaterAsync, CancellationToken.None);
            }
        }

        _subscription = await _transport.SubscribeRequestsAsync(Descriptor, HandleAsync, cancellationToken).ConfigureAwait(false);
        Log.ServerStarted(_logger, Descriptor.ServiceName, _options.InstanceId, _options.MaxConcurrentRequests);
    }

    /// <summary>Stops taking requests, lets running ones finish (bounded by the drain timeout), then cancels the rest.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopRequested.Cancel();
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync().ConfigureAwait(false);
        }

        if (!await DrainAsync(_options.ShutdownDrainTimeout, cancellationToken).ConfigureAwait(false))
        {
            Log.DrainTimedOut(_logger, Descriptor.ServiceName, Volatile.Read(ref _running));
        }

        _stopping.Cancel();
        if (_renewing is null)
        {
            return;
        }

        // A cancelled handler may take a moment to stop. Its claim stays renewed meanwhile (at most
        // one more time to live): were it dropped now, a redelivery elsewhere could run the request
        // while this one still does.
        if (!await DrainAsync(_options.ClaimTimeToLive, CancellationToken.None).ConfigureAwait(false))
        {
            Log.HandlersOutlivedStop(_logger, Descriptor.ServiceName, Volatile.Read(ref _running));
        }

        _renewStop.Cancel();
        await _renewing.ConfigureAwait(false);
        if (Interlocked.Exchange(ref _cancellations, null) is { } cancellations)
        {
            await cancellations.DisposeAsync().ConfigureAwait(false);
        }

        // Results not stored yet get one more try each.
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

    private async Task SubscribeCancellationsLaterAsync()
    {
        while (!_renewStop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), _renewStop.Token).ConfigureAwait(false);
                var subscription = await _store!.SubscribeCancellationsAsync(Descriptor.ServiceName, OnCancelAsync, CancellationToken.None)
                    .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                _cancellations = subscription;

                // Stopped meanwhile: whichever of the two takes the subscription disposes it.
                if (_renewStop.IsCancellationRequested && Interlocked.Exchange(ref _cancellations, null) is { } late)
                {
                    await late.DisposeAsync().ConfigureAwait(false);
                }

                return;
            }
            catch (OperationCanceledException) when (_renewStop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.CancellationsDeferred(_logger, ex, Descriptor.ServiceName);
            }
        }
    }

    /// <summary>A caller cancelled one of this service's requests: cancel its handler if it runs here.</summary>
    private ValueTask OnCancelAsync(CorrelationId id, long requestDeadlineUnixMs)
    {
        // Remembered first, then looked for among the held claims, while a claim is registered
        // first and then looked for here: whichever of the two comes second sees the other.
        _recentCancels.Add(id, requestDeadlineUnixMs, Environment.TickCount64);
        if (_held.TryGetValue(id, out var held) && held.RequestDeadlineUnixMs == requestDeadlineUnixMs
            && _recentCancels.TryTake(id, requestDeadlineUnixMs))
        {
            held.CancelByCaller();
        }

        return ValueTask.CompletedTask;
    }

    private async Task<bool> DrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _running) == 0)
        {
            return true;
        }

        try
        {
            await _drained.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            return false;
        }
    }

    private async ValueTask HandleAsync(RpcRequest request, CancellationToken cancellationToken)
    {
        // One holder per delivery: a second delivery of the request to this same instance is told
        // apart from the first, and a retried claim (after a timeout) is recognised.
        var holder = _store is null ? null : string.Concat(_holderPrefix, Interlocked.Increment(ref _deliveries).ToString("x", CultureInfo.InvariantCulture));
        var waited = false;
        while (true)
        {
            await _concurrency.WaitAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _running);
            bool wait;
            try
            {
                wait = await ProcessAsync(request, holder, waited).ConfigureAwait(false);
            }
            finally
            {
                _concurrency.Release();
                if (Interlocked.Decrement(ref _running) == 0 && _stopRequested.IsCancellationRequested)
                {
                    _drained.TrySetResult();
                }
            }

            if (!wait)
            {
                return;
            }

            // Running elsewhere. Its holder renews the claim while it runs; if the holder died, the
            // claim expires within ClaimTimeToLive and this delivery takes the request over. Until
            // then it waits, unacknowledged (skipping it would lose the request if the holder never
            // finishes) but without a concurrency slot, so duplicates cannot starve other requests,
            // and a stop ends the wait at once (the next member of the group gets the request).
            if (!waited)
            {
                waited = true;
                RpcMetrics.DuplicatesSuppressed.Add(1, new KeyValuePair<string, object?>("outcome", "running"));
            }

            var remaining = request.DeadlineUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var pause = TimeSpan.FromMilliseconds(Math.Clamp(remaining, 0, _renewInterval.TotalMilliseconds));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopRequested.Token);
            try
            {
                await Task.Delay(pause, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (_stopRequested.IsCancellationRequested)
            {
                // Not a failure: the transport leaves the delivery for the next member, quietly.
                throw new RpcDeliveryAbandonedException(ex);
            }
        }
    }

    /// <summary>Handles one delivery; <see langword="true"/> when another holder runs the request and this delivery must wait.</summary>
    private async Task<bool> ProcessAsync(RpcRequest request, string? holder, bool waited)
    {
        if (request.DecodeError is { } problem)
        {
            await ReplyErrorAsync(request, new RpcStatus(RpcStatusCode.InvalidArgument, problem)).ConfigureAwait(false);
            return false;
        }

        // Past its deadline the caller has stopped waiting: running it would be wasted work. It is
        // answered all the same (see AnswerExpiredAsync), so that its id does not stay Pending.
        var expired = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() >= request.DeadlineUnixMs;
        if (expired && waited)
        {
            // Another delivery runs it and answers.
            Log.DuplicateExpired(_logger, request.Id, null);
            return false;
        }

        if (expired && _store is null)
        {
            await AnswerExpiredAsync(request).ConfigureAwait(false);
            return false;
        }

        if (!string.Equals(request.Service, Descriptor.ServiceName, StringComparison.Ordinal) || !Descriptor.TryFindMethod(request.Method, out var method))
        {
            await ReplyErrorAsync(request, new RpcStatus(RpcStatusCode.NotFound, $"Unknown method '{request.FullMethodName}'.")).ConfigureAwait(false);
            return false;
        }

        HeldClaim? held = null;
        if (_store is not null)
        {
            // An expired request still asks the claim: it may have run (a redelivery after its
            // server died past the deadline: its stored result is re-sent) or still run elsewhere.
            var (outcome, claimed) = await ClaimAsync(_store, request, holder!, waited, expired).ConfigureAwait(false);
            if (outcome != ClaimOutcome.Run)
            {
                return outcome == ClaimOutcome.Wait;
            }

            held = claimed;
        }

        await RunAsync(request, method, held).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Answers a request that reached this server after its deadline and never ran: the caller's
    /// instance stores the answer under the id (forwarding it to whoever waits for it), where
    /// IRpcResults and the HTTP edge find it. A later real result replaces it in the store.
    /// </summary>
    private async Task AnswerExpiredAsync(RpcRequest request)
    {
        Log.RequestExpired(_logger, request.Id, request.FullMethodName);
        RpcMetrics.ExpiredRequests.Add(1);
        if (!request.ReplyTo.IsEmpty && !request.Id.IsEmpty)
        {
            await _transport.SendReplyAsync(request.ReplyTo, RpcReply.Error(request.Id, ExpiredStatus), CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The answer to a request that reached the server after its deadline.</summary>
    internal static readonly RpcStatus ExpiredStatus = new(RpcStatusCode.DeadlineExceeded, "The request reached a server after its deadline; it was not run.");

    private static bool IsCancellation(Exception ex) =>
        (ex is StreamFailedException { InnerException: { } inner } ? inner : ex) is OperationCanceledException;

    private async Task RunAsync(RpcRequest request, RpcMethodDescriptor method, HeldClaim? held)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var activity = RpcTracing.StartServer(request, method);
        var call = new ServerCall(request, method, _transport, _serializer, _options.MaxCachedStreamReplies, _stopping.Token,
            held, held is null ? null : _completeClaim);
        var scope = _services.CreateAsyncScope();
        IRpcServiceBinding? binding = null;
        try
        {
            try
            {
                binding = (_resolve ?? _registration.Create)(scope.ServiceProvider);
                await binding.DispatchAsync(call).ConfigureAwait(false);
                if (!call.Ended)
                {
                    await call.SendErrorAsync(new RpcStatus(RpcStatusCode.Internal, "The handler returned without replying.")).ConfigureAwait(false);
                }
            }
            catch (TransportSendException)
            {
                throw;
            }
            catch (Exception ex) when (IsCancellation(ex) && held is { CancelledByCaller: true, Fenced: false } && !call.Ended && !_stopping.IsCancellationRequested)
            {
                // The caller gave up: nobody reads a reply. The claim is let go rather than completed,
                // so a retry of an idempotent call (a new request under the same id) runs it again;
                // a redelivery of this request finds the cancel marker and does not.
                Log.CancelledByCaller(_logger, request.Id, request.FullMethodName);
                RpcMetrics.ServerCancels.Add(1, new KeyValuePair<string, object?>("when", "running"));
                call.MarkCancelled();
                await LetGoAsync(held).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (IsCancellation(ex) && _stopping.IsCancellationRequested && call.SentCount > 0 && !call.Ended)
            {
                // Cut off by shutdown after some of its items went out: a redelivery cannot resume it,
                // so the caller learns that the stream ended early (Unavailable), and the claim is let
                // go so that a retry runs it again.
                Log.StreamCutByStop(_logger, request.Id, call.SentCount);
                try
                {
                    await call.SendErrorAsync(new RpcStatus(RpcStatusCode.Unavailable, "The server stopped while the stream was running."), keepWithClaim: false).ConfigureAwait(false);
                }
                catch (Exception sendError)
                {
                    Log.ReplyFailed(_logger, sendError, request.Id);
                }

                if (held is not null)
                {
                    await LetGoAsync(held).ConfigureAwait(false);
                }

                return;
            }
            catch (Exception ex) when (IsCancellation(ex) && held is { Fenced: true } && !call.Ended && !_stopping.IsCancellationRequested)
            {
                // Fenced: another delivery has, or may soon have, the claim. No reply from here —
                // the caller gets that delivery's — and the outer handler settles this delivery.
                if (!held.Lost)
                {
                    RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "fenced"));
                    Log.ClaimFenced(_logger, request.Id, held.Holder, System.Diagnostics.Stopwatch.GetElapsedTime(held.ConfirmedAt));
                }

                throw new ClaimFencedException(held.Lost);
            }
            catch (Exception ex) when (_stopping.IsCancellationRequested && IsCancellation(ex))
            {
                // Cut off by shutdown: leave the request unacknowledged so another instance runs it.
                throw ex as RpcDeliveryAbandonedException ?? new RpcDeliveryAbandonedException(ex);
            }
            catch (Exception ex)
            {
                var status = ToStatus(ex, call);
                if (status.StatusCode == RpcStatusCode.Internal)
                {
                    Log.HandlerFailed(_logger, ex, request.FullMethodName, request.Id);
                }
                else if (status.StatusCode is RpcStatusCode.Unknown or RpcStatusCode.DataLoss || ex is RpcArgumentException)
                {
                    // A server-side problem, or arguments the contract does not allow (a caller's bug,
                    // or another version of the contract).
                    Log.BadRequest(_logger, request.Id, status.Detail, status.StatusCode);
                }
                else
                {
                    // A status the handler chose (NotFound, InvalidArgument, FailedPrecondition…) or
                    // its deadline: an expected answer, not a server problem.
                    Log.HandlerAnswered(_logger, request.Id, status.StatusCode, status.Detail);
                }

                if (!call.Ended && held is not null && status.StatusCode == RpcStatusCode.DeadlineExceeded && IsCancellation(ex))
                {
                    // Cut off at the caller's deadline: that is how this run ended, not the request's
                    // result. Not kept with the claim, which is let go, so that a retry under the
                    // same id (an idempotency key) runs it again rather than being told it timed out.
                    await call.SendErrorAsync(status, keepWithClaim: false).ConfigureAwait(false);
                    await LetGoAsync(held).ConfigureAwait(false);
                    return;
                }

                if (!call.Ended)
                {
                    await call.SendErrorAsync(status).ConfigureAwait(false);
                }
            }
        }
        catch (ClaimFencedException fenced) when (fenced.Lost)
        {
            // Another delivery holds the claim and answers the caller: this one is done.
            return;
        }
        catch (Exception ex)
        {
            if (ex is TransportSendException)
            {
                Log.ReplyFailed(_logger, ex, request.Id);
            }

            // A claim completed (the handler finished; only sending failed) keeps its replies, which
            // the redelivery re-sends; one whose completion is still being retried stays held, so
            // the redelivery waits for it; a running one is dropped so that the redelivery runs it.
            if (held is not null && held.State != HeldClaim.CompletionPending)
            {
                await LetGoAsync(held).ConfigureAwait(false);
            }

            throw;
        }
        finally
        {
            if (held is not null)
            {
                if (held.State != HeldClaim.CompletionPending)
                {
                    _held.TryRemove(new KeyValuePair<CorrelationId, HeldClaim>(request.Id, held));
                }

                held.Release();
            }

            call.ServerContext.Dispose();
            if (_resolve is null)
            {
                // Created here, so disposed here (the scope disposes only what it resolved).
                if (binding is IAsyncDisposable asyncDisposable)
                {
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                }
                else if (binding is IDisposable disposable)
                {
                    disposable.Dispose();
                }
            }

            await scope.DisposeAsync().ConfigureAwait(false);
            // The descriptor's name is made once; the request's would be concatenated per call.
            RpcMetrics.RecordServer(method.FullName, call.FinalStatus, started);
            RpcTracing.End(activity, call.FinalStatus);
        }
    }

    private enum ClaimOutcome
    {
        /// <summary>Run the request (claimed, or the store failed and running without a claim is allowed).</summary>
        Run,

        /// <summary>Settled here: answered from the stored replies, or answered Unavailable.</summary>
        Settled,

        /// <summary>Another holder runs it: wait, then try again.</summary>
        Wait,
    }

    /// <summary>Claims the request for this delivery, and registers the claim for renewal when it is to run.</summary>
    /// <remarks>
    /// For an <paramref name="expired"/> request the claim only tells what happened: a claim taken
    /// now is let go again and the request answered as never run; one running elsewhere is left to
    /// answer; a completed one has its replies re-sent.
    /// </remarks>
    private async Task<(ClaimOutcome Outcome, HeldClaim? Held)> ClaimAsync(IRpcOwnershipStore store, RpcRequest request, string holder, bool waited, bool expired)
    {
        RpcClaim claim;
        long sent;
        try
        {
            (claim, sent) = await TryClaimAsync(store, request, holder).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (waited)
            {
                // The holder may still answer; keep waiting within the deadline.
                Log.ClaimRenewFailed(_logger, ex, request.Id);
                return (ClaimOutcome.Wait, null);
            }

            Log.ClaimFailed(_logger, ex, request.Id);
            if (expired)
            {
                // Not run here either way; the answer is provisional (a stored real result replaces it).
                ObserveLater(ReleaseAsync(store, request.Id, holder));
                await AnswerExpiredAsync(request).ConfigureAwait(false);
                return (ClaimOutcome.Settled, null);
            }

            if (_options.WhenStoreUnavailable == StoreFailureMode.FailCall)
            {
                // Without a claim the request could run twice; refuse rather than risk it. The claim
                // may have been taken unseen (a timeout): let it go, so a redelivery is not held up.
                ObserveLater(ReleaseAsync(store, request.Id, holder));
                await ReplyErrorAsync(request, new RpcStatus(RpcStatusCode.Unavailable, "The server could not claim the request: the ownership store is unavailable.")).ConfigureAwait(false);
                return (ClaimOutcome.Settled, null);
            }

            // Run without a claim, as configured; the renewal loop takes the claim once the store
            // answers, so later deliveries see it (there is nothing to fence against until then).
            var unclaimed = new HeldClaim(request.Id, holder, canFence: false) { RequestDeadlineUnixMs = request.DeadlineUnixMs };
            _held[request.Id] = unclaimed;
            return (ClaimOutcome.Run, unclaimed);
        }

        switch (claim.State)
        {
            case RpcClaimState.Claimed when expired:
                try
                {
                    await ReleaseAsync(store, request.Id, holder).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // It expires within ClaimTimeToLive; until then a retry under this id waits.
                    Log.ClaimFailed(_logger, ex, request.Id);
                }

                await AnswerExpiredAsync(request).ConfigureAwait(false);
                return (ClaimOutcome.Settled, null);

            case RpcClaimState.Claimed:
                if (waited)
                {
                    RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "taken_over"));
                    Log.ClaimTakenOver(_logger, request.Id, claim.Holder);
                }

                var held = new HeldClaim(request.Id, holder, canFence: true) { ConfirmedAt = sent, RequestDeadlineUnixMs = request.DeadlineUnixMs };
                _held[request.Id] = held;
                if (_recentCancels.TryTake(request.Id, request.DeadlineUnixMs))
                {
                    // Its cancellation overtook the registration above.
                    held.CancelByCaller();
                }

                return (ClaimOutcome.Run, held);

            case RpcClaimState.Cancelled:
                Log.CancelledBeforeRun(_logger, request.Id, request.FullMethodName);
                RpcMetrics.ServerCancels.Add(1, new KeyValuePair<string, object?>("when", "before_run"));
                return (ClaimOutcome.Settled, null);

            case RpcClaimState.Conflict:
                // Not kept with the claim: the key's first request keeps its own result.
                Log.IdempotencyConflict(_logger, request.Id, request.FullMethodName);
                await _transport.SendReplyAsync(request.ReplyTo, RpcReply.Error(request.Id, RpcIdempotency.KeyReusedStatus), CancellationToken.None).ConfigureAwait(false);
                return (ClaimOutcome.Settled, null);

            case RpcClaimState.Completed:
                foreach (var stored in claim.Replies)
                {
                    await _transport.SendReplyAsync(request.ReplyTo, stored, CancellationToken.None).ConfigureAwait(false);
                }

                if (!waited)
                {
                    RpcMetrics.DuplicatesSuppressed.Add(1, new KeyValuePair<string, object?>("outcome", "completed"));
                }

                Log.DuplicateCompleted(_logger, request.Id, claim.Replies.Count);
                return (ClaimOutcome.Settled, null);

            default:
                if (expired)
                {
                    // Running elsewhere: that delivery answers.
                    Log.DuplicateExpired(_logger, request.Id, claim.Holder);
                    return (ClaimOutcome.Settled, null);
                }

                if (!waited)
                {
                    Log.DuplicateRunning(_logger, request.Id, claim.Holder);
                }

                return (ClaimOutcome.Wait, null);
        }
    }

    /// <summary>
    /// One claim, bounded by the store timeout; after a timeout it is tried once more with the same
    /// holder — the first attempt may have succeeded unseen, and a claim by its own holder is Claimed.
    /// Also returns when the successful attempt was sent (the claim's time to live counts from later).
    /// </summary>
    private async Task<(RpcClaim Claim, long Sent)> TryClaimAsync(IRpcOwnershipStore store, RpcRequest request, string holder)
    {
        var conditions = new RpcClaimConditions(request.DeadlineUnixMs, request.Fingerprint);
        for (var attempt = 1; ; attempt++)
        {
            var sent = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                var claim = await store.TryClaimAsync(request.Id, holder, _options.ClaimTimeToLive, conditions, CancellationToken.None).AsTask()
                    .WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                return (claim, sent);
            }
            catch (TimeoutException) when (attempt < 2)
            {
            }
        }
    }

    /// <summary>Stops holding a claim whose request did not complete here and drops it in the store, so another delivery may run the request. Never throws.</summary>
    private async Task LetGoAsync(HeldClaim held)
    {
        if (!_held.TryRemove(new KeyValuePair<CorrelationId, HeldClaim>(held.Id, held)))
        {
            return;
        }

        try
        {
            await ReleaseAsync(_store!, held.Id, held.Holder).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ClaimFailed(_logger, ex, held.Id);
        }
    }

    private async Task ReleaseAsync(IRpcOwnershipStore store, CorrelationId id, string holder) =>
        await store.ReleaseClaimAsync(id, holder, CancellationToken.None).AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);

    private static void ObserveLater(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Called by the call just before its final reply is sent: stores every reply with the claim.</summary>
    private async ValueTask CompleteClaimAsync(ServerCall call, IReadOnlyList<RpcReply> replies)
    {
        var held = call.Claim!;

        // Not renewed from now on: the completed claim lives for ResultTimeToLive.
        held.State = HeldClaim.Completing;
        try
        {
            await CompleteAsync(held, replies).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The reply still goes out. The claim stays held — renewed, so a waiting duplicate keeps
            // waiting rather than running the request again — and storing the result is retried.
            Log.ClaimCompletionDeferred(_logger, ex, held.Id);
            held.Replies = replies;
            held.GiveUpAt = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(_options.ResultTimeToLive.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            held.State = HeldClaim.CompletionPending;
        }
    }

    // Throws when the store fails; otherwise the claim is settled and no longer held.
    private async Task CompleteAsync(HeldClaim held, IReadOnlyList<RpcReply> replies)
    {
        var written = await _store!.CompleteClaimAsync(held.Id, held.Holder, replies, _options.ResultTimeToLive, CancellationToken.None)
            .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
        _held.TryRemove(new KeyValuePair<CorrelationId, HeldClaim>(held.Id, held));
        if (!written)
        {
            // Another delivery took the request over (this one stalled past its claim, or was fenced
            // but finished anyway); that one's result stands. This reply still goes out.
            RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "lost"));
            Log.ClaimLost(_logger, held.Id, held.Holder);
        }
    }

    // Never throws.
    private async Task RetryCompletionAsync(HeldClaim held)
    {
        if (System.Diagnostics.Stopwatch.GetTimestamp() > held.GiveUpAt)
        {
            _held.TryRemove(new KeyValuePair<CorrelationId, HeldClaim>(held.Id, held));
            Log.ClaimCompletionAbandoned(_logger, held.Id, _options.ResultTimeToLive);
            return;
        }

        try
        {
            await CompleteAsync(held, held.Replies!).ConfigureAwait(false);
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
            var renewed = await _store!.RenewClaimAsync(held.Id, held.Holder, _options.ClaimTimeToLive, CancellationToken.None)
                .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
            if (!renewed)
            {
                // Another delivery has it after all (it expired during an outage): its result stands.
                _held.TryRemove(new KeyValuePair<CorrelationId, HeldClaim>(held.Id, held));
                RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "lost"));
                Log.ClaimLost(_logger, held.Id, held.Holder);
            }
        }
        catch (Exception ex)
        {
            Log.ClaimRenewFailed(_logger, ex, held.Id);
        }
    }

    /// <summary>Renews every claim held by a running request, every third of the claim's time to live, until the host has stopped.</summary>
    private async Task RenewClaimsAsync()
    {
        using var timer = new PeriodicTimer(_renewInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_renewStop.Token).ConfigureAwait(false))
            {
                _recentCancels.Prune(Environment.TickCount64);

                if (_held.IsEmpty)
                {
                    continue;
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
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    // Never throws.
    private async Task RenewAsync(HeldClaim held)
    {
        if (held.CanFence && !held.Fenced && System.Diagnostics.Stopwatch.GetElapsedTime(held.ConfirmedAt) >= _fenceAfter)
        {
            // Not confirmed for too long (the store does not answer): the claim may expire before the
            // next renewal could save it. Stop the handler; the renewal below still tries, so that if
            // the store answers the claim stays this delivery's until the handler has stopped.
            held.Fence();
        }

        var sent = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var renewed = await _store!.RenewClaimAsync(held.Id, held.Holder, _options.ClaimTimeToLive, CancellationToken.None)
                .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
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
                _held.TryRemove(new KeyValuePair<CorrelationId, HeldClaim>(held.Id, held));
                return;
            }

            held.Lost = true;
            RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "lost"));
            Log.ClaimLost(_logger, held.Id, held.Holder);
            held.Fence();
        }
        catch (Exception ex)
        {
            // Fenced at a later tick if no renewal is confirmed in time.
            Log.ClaimRenewFailed(_logger, ex, held.Id);
        }
    }

    private async Task ReplyErrorAsync(RpcRequest request, RpcStatus status)
    {
        Log.BadRequest(_logger, request.Id, status.Detail, status.StatusCode);
        if (request.ReplyTo.IsEmpty || request.Id.IsEmpty)
        {
            return;
        }

        await _transport.SendReplyAsync(request.ReplyTo, RpcReply.Error(request.Id, status), CancellationToken.None).ConfigureAwait(false);
    }

    private RpcStatus ToStatus(Exception ex, ServerCall call)
    {
        if (ex is StreamFailedException { InnerException: { } inner })
        {
            ex = inner;
        }

        return ex switch
        {
            RpcException rpc => rpc.Status,
            OperationCanceledException when call.ServerContext.DeadlinePassed =>
                new RpcStatus(RpcStatusCode.DeadlineExceeded, "The handler did not finish before the caller's deadline."),
            _ => new RpcStatus(RpcStatusCode.Internal, _options.IncludeExceptionDetails
                ? $"{ex.GetType().Name}: {ex.Message}"
                : "The server failed while handling the call."),
        };
    }
}

/// <summary>The handler was cancelled because this delivery's claim was lost (<see cref="Lost"/>) or could not be confirmed in time.</summary>
internal sealed class ClaimFencedException(bool lost) : Exception(lost ? "The claim was taken by another delivery." : "The claim could not be renewed in time.")
{
    public bool Lost { get; } = lost;
}
