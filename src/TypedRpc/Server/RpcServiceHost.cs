using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
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
/// most once (under a claim its <see cref="ClaimKeeper"/> keeps), with bounded concurrency, and
/// replies. A request is acknowledged to the transport only after its reply was handed over, so a
/// crash before that means redelivery, and the claim turns the redelivery into a re-send of the
/// stored reply instead of a second run.
/// </summary>
internal sealed class RpcServiceHost
{
    private readonly RpcServerRegistration _registration;

    // Set when the application registered the server class itself (it chose the lifetime):
    // resolved from the request's scope then, created per request (and disposed here) otherwise.
    private readonly Func<IServiceProvider, IRpcServiceBinding>? _resolve;
    private readonly IServiceProvider _services;
    private readonly IRpcTransport _transport;
    private readonly IRpcSerializer _serializer;
    private readonly TypedRpcOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _concurrency;

    // Null without claims (EnableClaims off, or no claim store).
    private readonly ClaimKeeper? _claims;

    // Stop, in three steps: waiting duplicates stop waiting at once (they stay unacknowledged for
    // the next member); running handlers are cancelled after the drain timeout; claims are renewed
    // until the handlers are gone.
    private readonly CancellationTokenSource _stopRequested = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IAsyncDisposable? _subscription;
    private int _running;

    public RpcServiceHost(RpcServerRegistration registration, IServiceProvider services, IRpcTransport transport, IRpcClaimStore? claims,
        IRpcSerializer serializer, TypedRpcOptions options, ILogger logger)
    {
        _registration = registration;
        _resolve = services.GetService<IServiceProviderIsService>()?.IsService(registration.ImplementationType) == true ? registration.Resolve : null;
        _services = services;
        _transport = transport;
        _serializer = serializer;
        _options = options;
        _logger = logger;
        _concurrency = new SemaphoreSlim(options.MaxConcurrentRequests, options.MaxConcurrentRequests);
        _claims = options.EnableClaims && claims is not null ? new ClaimKeeper(claims, registration.Descriptor.ServiceName, options, logger) : null;
    }

    public RpcServiceDescriptor Descriptor => _registration.Descriptor;

    /// <summary>Requests being handled right now (waiting duplicates not counted).</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Completes when the transport has assigned this member its share of the requests (at subscribe unless the subscription is an <see cref="IRpcRequestSubscription"/>).</summary>
    public Task Assigned => (_subscription as IRpcRequestSubscription)?.Assigned ?? Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_claims is not null)
        {
            await _claims.StartAsync(cancellationToken).ConfigureAwait(false);
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
        if (_claims is null)
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

        await _claims.StopAsync().ConfigureAwait(false);
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
        var holder = _claims?.NextHolder();
        var waited = false;
        while (true)
        {
            await _concurrency.WaitAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _running);
            DeliveryEnd end;
            try
            {
                end = await ProcessAsync(request, holder, waited).ConfigureAwait(false);
            }
            finally
            {
                _concurrency.Release();
                if (Interlocked.Decrement(ref _running) == 0 && _stopRequested.IsCancellationRequested)
                {
                    _drained.TrySetResult();
                }
            }

            if (end.HandedBack is { } reason)
            {
                // The transport's contract: a faulted delivery is delivered again, an abandoned one
                // is left unacknowledged for the next member.
                ExceptionDispatchInfo.Throw(reason);
            }

            if (!end.Wait)
            {
                return;
            }

            if (!waited)
            {
                waited = true;
                RpcMetrics.DuplicatesSuppressed.Add(1, new KeyValuePair<string, object?>("outcome", "running"));
            }

            await WaitForHolderAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits while another holder runs the request. Its holder renews the claim while it runs; if the
    /// holder died, the claim expires within ClaimTimeToLive and this delivery takes the request over.
    /// Until then it waits, unacknowledged (skipping it would lose the request if the holder never
    /// finishes) but without a concurrency slot, so duplicates cannot starve other requests, and a
    /// stop ends the wait at once (the next member of the group gets the request).
    /// </summary>
    private async Task WaitForHolderAsync(RpcRequest request, CancellationToken cancellationToken)
    {
        var remaining = request.DeadlineUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var pause = TimeSpan.FromMilliseconds(Math.Clamp(remaining, 0, _claims!.RenewInterval.TotalMilliseconds));
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

    /// <summary>Handles one delivery, holding a concurrency slot.</summary>
    /// <remarks>A ValueTask, as <see cref="RunAsync"/>'s: over the in-memory transport a run may complete synchronously, and a Task of a struct would then be allocated per call.</remarks>
    private async ValueTask<DeliveryEnd> ProcessAsync(RpcRequest request, string? holder, bool waited)
    {
        if (request.DecodeError is { } problem)
        {
            await ReplyErrorAsync(request, new RpcStatus(RpcStatusCode.InvalidArgument, problem)).ConfigureAwait(false);
            return DeliveryEnd.Acknowledged;
        }

        // Past its deadline the caller has stopped waiting: running it would be wasted work. It is
        // answered all the same (see AnswerExpiredAsync), so that its id does not stay Pending.
        var expired = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() >= request.DeadlineUnixMs;
        if (expired && waited)
        {
            // Another delivery runs it and answers.
            Log.DuplicateExpired(_logger, request.Id, null);
            return DeliveryEnd.Acknowledged;
        }

        if (expired && _claims is null)
        {
            await AnswerExpiredAsync(request).ConfigureAwait(false);
            return DeliveryEnd.Acknowledged;
        }

        if (!string.Equals(request.Service, Descriptor.ServiceName, StringComparison.Ordinal) || !Descriptor.TryFindMethod(request.Method, out var method))
        {
            await ReplyErrorAsync(request, new RpcStatus(RpcStatusCode.NotFound, $"Unknown method '{request.FullMethodName}'.")).ConfigureAwait(false);
            return DeliveryEnd.Acknowledged;
        }

        if (_claims is null)
        {
            return await RunAsync(request, method, null).ConfigureAwait(false);
        }

        // An expired request still asks the claim: it may have run (a redelivery after its server
        // died past the deadline: its stored result is re-sent) or still run elsewhere.
        var claim = await _claims.ClaimAsync(request, holder!, waited, expired).ConfigureAwait(false);
        return claim.Verdict == ClaimVerdict.Run
            ? await RunAsync(request, method, claim.Held!).ConfigureAwait(false)
            : await FollowClaimAsync(request, claim, waited).ConfigureAwait(false);
    }

    /// <summary>Acts on a claim that does not let the request run here: waits, re-sends the stored replies, or answers why not.</summary>
    private async Task<DeliveryEnd> FollowClaimAsync(RpcRequest request, ClaimResult claim, bool waited)
    {
        switch (claim.Verdict)
        {
            case ClaimVerdict.Wait:
                return DeliveryEnd.WaitForHolder;

            case ClaimVerdict.Expired:
                // Not run here, and not running elsewhere.
                await AnswerExpiredAsync(request).ConfigureAwait(false);
                break;

            case ClaimVerdict.Unavailable:
                // Without a claim the request could run twice; refuse rather than risk it.
                await ReplyErrorAsync(request, new RpcStatus(RpcStatusCode.Unavailable, "The server could not claim the request: the ownership store is unavailable.")).ConfigureAwait(false);
                break;

            case ClaimVerdict.Cancelled:
                Log.CancelledBeforeRun(_logger, request.Id, request.FullMethodName);
                RpcMetrics.ServerCancels.Add(1, new KeyValuePair<string, object?>("when", "before_run"));
                break;

            case ClaimVerdict.Conflict:
                // Not kept with the claim: the key's first request keeps its own result.
                Log.IdempotencyConflict(_logger, request.Id, request.FullMethodName);
                await _transport.SendReplyAsync(request.ReplyTo, RpcReply.Error(request.Id, RpcIdempotency.KeyReusedStatus), CancellationToken.None).ConfigureAwait(false);
                break;

            case ClaimVerdict.Completed:
                foreach (var stored in claim.Replies!)
                {
                    await _transport.SendReplyAsync(request.ReplyTo, stored, CancellationToken.None).ConfigureAwait(false);
                }

                if (!waited)
                {
                    RpcMetrics.DuplicatesSuppressed.Add(1, new KeyValuePair<string, object?>("outcome", "completed"));
                }

                Log.DuplicateCompleted(_logger, request.Id, claim.Replies.Count);
                break;
        }

        // LeftToHolder included: the delivery running it answers.
        return DeliveryEnd.Acknowledged;
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

    /// <summary>Runs the handler in a scope of its own; a run that ends in an exception is settled by <see cref="SettleAsync"/>.</summary>
    private async ValueTask<DeliveryEnd> RunAsync(RpcRequest request, RpcMethodDescriptor method, HeldClaim? held)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = RpcTracing.StartServer(request, method);
        var call = new ServerCall(request, method, _transport, _serializer, _options.MaxCachedStreamReplies, _stopping.Token, held);
        // A scope per request only when something is resolved from it: a server class the application
        // registered, or one whose constructor takes services (an empty scope still costs ~120 bytes).
        AsyncServiceScope? scope = _resolve is not null || _registration.CreateNeedsServices ? _services.CreateAsyncScope() : null;
        IRpcServiceBinding? binding = null;
        try
        {
            Exception? failure = null;
            try
            {
                binding = (_resolve ?? _registration.Create)(scope?.ServiceProvider ?? _services);
                await binding.DispatchAsync(call).ConfigureAwait(false);
                if (!call.Ended)
                {
                    await call.SendErrorAsync(new RpcStatus(RpcStatusCode.Internal, "The handler returned without replying.")).ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            return failure is null ? DeliveryEnd.Acknowledged : await SettleAsync(call, failure).ConfigureAwait(false);
        }
        finally
        {
            held?.EndRun();
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

            if (scope is { } requestScope)
            {
                await requestScope.DisposeAsync().ConfigureAwait(false);
            }
            // The descriptor's name is made once; the request's would be concatenated per call.
            RpcMetrics.RecordServer(method.FullName, call.FinalStatus, started);
            RpcTracing.End(activity, call.FinalStatus);
        }
    }

    /// <summary>Settles a run that ended in an exception (the handler's, or a failed send): answers, lets the claim go, or hands the delivery back.</summary>
    private async Task<DeliveryEnd> SettleAsync(ServerCall call, Exception failure)
    {
        var request = call.Request;
        var held = call.Claim;
        var end = RunEnding.Read(failure, call, _stopping.IsCancellationRequested, _options.IncludeExceptionDetails, out var status);
        switch (end)
        {
            case RunEnd.SendFailed:
                return await HandBackAsync(call, failure).ConfigureAwait(false);

            case RunEnd.Stopped:
                // Cut off by shutdown: left unacknowledged, so that another instance runs it.
                return await HandBackAsync(call, failure as RpcDeliveryAbandonedException ?? new RpcDeliveryAbandonedException(failure)).ConfigureAwait(false);

            case RunEnd.StreamCutByStop:
                // Some of its items went out, which a redelivery cannot resume: the caller learns that
                // the stream ended early (Unavailable), and the claim is let go so that a retry runs it again.
                Log.StreamCutByStop(_logger, request.Id, call.SentCount);
                if (await TrySendErrorAsync(call, new RpcStatus(RpcStatusCode.Unavailable, "The server stopped while the stream was running."), keepWithClaim: false).ConfigureAwait(false) is { } sendError)
                {
                    Log.ReplyFailed(_logger, sendError, request.Id);
                }

                if (held is not null)
                {
                    await held.LetGoAsync().ConfigureAwait(false);
                }

                return DeliveryEnd.Acknowledged;

            case RunEnd.Lost:
                // Another delivery holds the claim and answers the caller: this one is done.
                return DeliveryEnd.Acknowledged;

            case RunEnd.Fenced:
                // Another delivery may soon have the claim. No reply from here — the caller gets that
                // delivery's — and this one is handed back, its claim let go.
                RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "fenced"));
                Log.ClaimFenced(_logger, request.Id, held!.Holder, Stopwatch.GetElapsedTime(held.ConfirmedAt));
                return await HandBackAsync(call, new ClaimFencedException()).ConfigureAwait(false);

            case RunEnd.CancelledByCaller:
                // The caller gave up: nobody reads a reply. The claim is let go rather than completed,
                // so a retry of an idempotent call (a new request under the same id) runs it again;
                // a redelivery of this request finds the cancel marker and does not.
                Log.CancelledByCaller(_logger, request.Id, request.FullMethodName);
                RpcMetrics.ServerCancels.Add(1, new KeyValuePair<string, object?>("when", "running"));
                call.MarkCancelled();
                await held!.LetGoAsync().ConfigureAwait(false);
                return DeliveryEnd.Acknowledged;

            default:
                return await AnswerFailureAsync(call, failure, status, cutAtDeadline: end == RunEnd.CutAtDeadline).ConfigureAwait(false);
        }
    }

    /// <summary>Answers a failed run with its status (unless its final reply went out already).</summary>
    private async Task<DeliveryEnd> AnswerFailureAsync(ServerCall call, Exception failure, RpcStatus status, bool cutAtDeadline)
    {
        var request = call.Request;
        if (status.StatusCode == RpcStatusCode.Internal)
        {
            Log.HandlerFailed(_logger, failure, request.FullMethodName, request.Id);
        }
        else if (status.StatusCode is RpcStatusCode.Unknown or RpcStatusCode.DataLoss || failure is RpcArgumentException)
        {
            // A server-side problem, or arguments the contract does not allow (a caller's bug, or
            // another version of the contract).
            Log.BadRequest(_logger, request.Id, status.Detail, status.StatusCode);
        }
        else
        {
            // A status the handler chose (NotFound, InvalidArgument, FailedPrecondition…) or its
            // deadline: an expected answer, not a server problem.
            Log.HandlerAnswered(_logger, request.Id, status.StatusCode, status.Detail);
        }

        if (call.Ended)
        {
            return DeliveryEnd.Acknowledged;
        }

        // A run cut off at the caller's deadline answers how this run ended, not the request's result:
        // the error is not kept with the claim, which is let go, so that a retry under the same id
        // (an idempotency key) runs it again rather than being told it timed out.
        if (await TrySendErrorAsync(call, status, keepWithClaim: !cutAtDeadline).ConfigureAwait(false) is { } sendError)
        {
            return await HandBackAsync(call, sendError).ConfigureAwait(false);
        }

        if (cutAtDeadline)
        {
            await call.Claim!.LetGoAsync().ConfigureAwait(false);
        }

        return DeliveryEnd.Acknowledged;
    }

    /// <summary>
    /// Hands the delivery back to the transport: delivered again, or, for an
    /// <see cref="RpcDeliveryAbandonedException"/>, left to the next member.
    /// </summary>
    private async Task<DeliveryEnd> HandBackAsync(ServerCall call, Exception reason)
    {
        if (reason is TransportSendException)
        {
            Log.ReplyFailed(_logger, reason, call.Request.Id);
        }

        // A claim completed (the handler finished; only sending failed) keeps its replies, which the
        // redelivery re-sends; one whose completion is still being retried stays held, so the
        // redelivery waits for it; a running one is let go so that the redelivery runs it.
        if (call.Claim is { } held && held.State != HeldClaim.CompletionPending)
        {
            await held.LetGoAsync().ConfigureAwait(false);
        }

        return DeliveryEnd.HandBack(reason);
    }

    // A send while settling: its failure is returned, to be settled in turn.
    private static async Task<Exception?> TrySendErrorAsync(ServerCall call, RpcStatus status, bool keepWithClaim)
    {
        try
        {
            await call.SendErrorAsync(status, keepWithClaim).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex)
        {
            return ex;
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
}
