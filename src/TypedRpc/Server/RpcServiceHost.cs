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
/// unacknowledged, while the claim is held by someone else — takes the request over and runs it.
/// The result is stored with the claim before the final reply is sent, so a server that dies
/// after its handler finished is answered from the store, never run again.
/// </remarks>
internal sealed class RpcServiceHost
{
    private readonly RpcServerRegistration _registration;
    private readonly IServiceProvider _services;
    private readonly IRpcTransport _transport;
    private readonly IRpcOwnershipStore? _store;
    private readonly IRpcSerializer _serializer;
    private readonly TypedRpcOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _concurrency;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<ServerCall, IReadOnlyList<RpcReply>, ValueTask> _completeClaim;

    // The claims this host holds for requests running now (request → holder), renewed by one loop.
    private readonly ConcurrentDictionary<CorrelationId, string> _held = new();
    private readonly TimeSpan _renewInterval;
    private IAsyncDisposable? _subscription;
    private Task? _renewing;
    private long _deliveries;
    private int _running;
    private volatile bool _stopRequested;

    public RpcServiceHost(RpcServerRegistration registration, IServiceProvider services, IRpcTransport transport, IRpcOwnershipStore? store,
        IRpcSerializer serializer, TypedRpcOptions options, ILogger logger)
    {
        _registration = registration;
        _services = services;
        _transport = transport;
        _store = options.EnableClaims ? store : null;
        _serializer = serializer;
        _options = options;
        _logger = logger;
        _concurrency = new SemaphoreSlim(options.MaxConcurrentRequests, options.MaxConcurrentRequests);
        _completeClaim = CompleteClaimAsync;
        _renewInterval = options.ClaimTimeToLive / 3;
    }

    public RpcServiceDescriptor Descriptor => _registration.Descriptor;

    /// <summary>Requests being handled right now.</summary>
    public int Running => Volatile.Read(ref _running);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_store is not null)
        {
            _renewing = Task.Run(RenewClaimsAsync, CancellationToken.None);
        }

        _subscription = await _transport.SubscribeRequestsAsync(Descriptor, HandleAsync, cancellationToken).ConfigureAwait(false);
        Log.ServerStarted(_logger, Descriptor.ServiceName, _options.InstanceId, _options.MaxConcurrentRequests);
    }

    /// <summary>Stops taking requests, lets running ones finish (bounded by the drain timeout), then cancels the rest.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopRequested = true;
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync().ConfigureAwait(false);
        }

        if (Volatile.Read(ref _running) > 0)
        {
            try
            {
                await _drained.Task.WaitAsync(_options.ShutdownDrainTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                Log.DrainTimedOut(_logger, Descriptor.ServiceName, Volatile.Read(ref _running));
            }
        }

        _stopping.Cancel();
        if (_renewing is not null)
        {
            await _renewing.ConfigureAwait(false);
        }
    }

    private async ValueTask HandleAsync(RpcRequest request, CancellationToken cancellationToken)
    {
        await _concurrency.WaitAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _running);
        try
        {
            await ProcessAsync(request).ConfigureAwait(false);
        }
        finally
        {
            _concurrency.Release();
            if (Interlocked.Decrement(ref _running) == 0 && _stopRequested)
            {
                _drained.TrySetResult();
            }
        }
    }

    private async Task ProcessAsync(RpcRequest request)
    {
        if (request.DecodeError is { } problem)
        {
            await ReplyErrorAsync(request, new RpcStatus(RpcStatusCode.InvalidArgument, problem)).ConfigureAwait(false);
            return;
        }

        if (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() >= request.DeadlineUnixMs)
        {
            // The caller has stopped waiting: running it would be wasted work.
            Log.RequestExpired(_logger, request.Id, request.FullMethodName);
            return;
        }

        if (!string.Equals(request.Service, Descriptor.ServiceName, StringComparison.Ordinal) || !Descriptor.TryFindMethod(request.Method, out var method))
        {
            await ReplyErrorAsync(request, new RpcStatus(RpcStatusCode.NotFound, $"Unknown method '{request.FullMethodName}'.")).ConfigureAwait(false);
            return;
        }

        string? holder = null;
        if (_store is not null)
        {
            // One holder per delivery: a second delivery of the request to this same instance is
            // told apart from the first, and a retried claim (after a timeout) is recognised.
            holder = string.Concat(_options.InstanceId, "/", Interlocked.Increment(ref _deliveries).ToString("x", CultureInfo.InvariantCulture));
            if (!await ClaimAsync(_store, request, holder).ConfigureAwait(false))
            {
                return;
            }
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var activity = RpcTracing.StartServer(request);
        var call = new ServerCall(request, method, _transport, _serializer, _options.MaxCachedStreamReplies, _stopping.Token,
            holder, holder is null ? null : _completeClaim);
        var scope = _services.CreateAsyncScope();
        try
        {
            try
            {
                var binding = _registration.Factory(scope.ServiceProvider);
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
            catch (Exception ex) when (_stopping.IsCancellationRequested && ex is OperationCanceledException)
            {
                // Cut off by shutdown: leave the request unacknowledged so another instance runs it.
                throw;
            }
            catch (Exception ex)
            {
                var status = ToStatus(ex, call);
                if (status.StatusCode == RpcStatusCode.Internal)
                {
                    Log.HandlerFailed(_logger, ex, request.FullMethodName, request.Id);
                }
                else
                {
                    Log.BadRequest(_logger, request.Id, status.Detail, status.StatusCode);
                }

                if (!call.Ended)
                {
                    await call.SendErrorAsync(status).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            if (ex is TransportSendException)
            {
                Log.ReplyFailed(_logger, ex, request.Id);
            }

            if (_store is not null && holder is not null)
            {
                // A claim already completed (the handler finished; only sending failed) keeps its
                // replies, which the redelivery re-sends; a running one is dropped so that the
                // redelivery runs the request.
                _held.TryRemove(new KeyValuePair<CorrelationId, string>(request.Id, holder));
                try
                {
                    await _store.ReleaseClaimAsync(request.Id, holder, CancellationToken.None).AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                }
                catch (Exception releaseError)
                {
                    Log.ClaimFailed(_logger, releaseError, request.Id);
                }
            }

            throw;
        }
        finally
        {
            if (holder is not null)
            {
                _held.TryRemove(new KeyValuePair<CorrelationId, string>(request.Id, holder));
            }

            call.ServerContext.Dispose();
            await scope.DisposeAsync().ConfigureAwait(false);
            RpcMetrics.RecordServer(request.FullMethodName, call.FinalStatus, started);
            RpcTracing.End(activity, call.FinalStatus);
        }
    }

    /// <summary>
    /// Claims the request for this delivery. Returns <see langword="true"/> to run it; otherwise it
    /// was settled here: answered from the stored replies, answered Unavailable, or dropped at its
    /// deadline while another holder ran it.
    /// </summary>
    private async Task<bool> ClaimAsync(IRpcOwnershipStore store, RpcRequest request, string holder)
    {
        RpcClaim claim;
        try
        {
            claim = await TryClaimAsync(store, request.Id, holder).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ClaimFailed(_logger, ex, request.Id);
            if (_options.WhenStoreUnavailable == StoreFailureMode.FailCall)
            {
                // Without a claim the request could run twice; refuse rather than risk it. The claim
                // may have been taken unseen (a timeout): let it go, so a redelivery is not held up.
                ObserveLater(ReleaseAsync(store, request.Id, holder));
                await ReplyErrorAsync(request, new RpcStatus(RpcStatusCode.Unavailable, "The server could not claim the request: the ownership store is unavailable.")).ConfigureAwait(false);
                return false;
            }

            return true;
        }

        var waited = false;
        while (true)
        {
            switch (claim.State)
            {
                case RpcClaimState.Claimed:
                    if (waited)
                    {
                        RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "taken_over"));
                        Log.ClaimTakenOver(_logger, request.Id, claim.Holder);
                    }

                    _held[request.Id] = holder;
                    return true;

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
                    return false;
            }

            // Running elsewhere. Its holder renews the claim while it runs; if the holder died, the
            // claim expires within ClaimTimeToLive and this delivery takes the request over. Until
            // one of those happens (or the caller's deadline passes) this delivery waits,
            // unacknowledged — skipping it would lose the request if the holder never finishes.
            if (!waited)
            {
                waited = true;
                RpcMetrics.DuplicatesSuppressed.Add(1, new KeyValuePair<string, object?>("outcome", "running"));
                Log.DuplicateRunning(_logger, request.Id, claim.Holder);
            }

            var remaining = request.DeadlineUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (remaining <= 0)
            {
                Log.DuplicateExpired(_logger, request.Id, claim.Holder);
                return false;
            }

            // Stopping throws here: the request stays unacknowledged for the next member.
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(remaining, _renewInterval.TotalMilliseconds)), _stopping.Token).ConfigureAwait(false);
            try
            {
                claim = await TryClaimAsync(store, request.Id, holder).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The holder may still answer; keep waiting within the deadline.
                Log.ClaimRenewFailed(_logger, ex, request.Id);
            }
        }
    }

    /// <summary>
    /// One claim, bounded by the store timeout; after a timeout it is tried once more with the same
    /// holder — the first attempt may have succeeded unseen, and a claim by its own holder is Claimed.
    /// </summary>
    private async Task<RpcClaim> TryClaimAsync(IRpcOwnershipStore store, CorrelationId id, string holder)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await store.TryClaimAsync(id, holder, _options.ClaimTimeToLive, CancellationToken.None).AsTask()
                    .WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException) when (attempt < 2)
            {
            }
        }
    }

    private async Task ReleaseAsync(IRpcOwnershipStore store, CorrelationId id, string holder) =>
        await store.ReleaseClaimAsync(id, holder, CancellationToken.None).AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);

    private static void ObserveLater(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Called by the call just before its final reply is sent: stores every reply with the claim.</summary>
    private async ValueTask CompleteClaimAsync(ServerCall call, IReadOnlyList<RpcReply> replies)
    {
        var id = call.Request.Id;
        var holder = call.ClaimHolder!;

        // Not renewed from now on: the completed claim lives for ResultTimeToLive.
        _held.TryRemove(new KeyValuePair<CorrelationId, string>(id, holder));
        try
        {
            var written = await _store!.CompleteClaimAsync(id, holder, replies, _options.ResultTimeToLive, CancellationToken.None)
                .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
            if (!written)
            {
                // This instance stalled past its claim's expiry and another delivery took it over;
                // that one's result stands. This reply still goes out (the caller takes the first).
                RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "lost"));
                Log.ClaimLost(_logger, id, holder);
            }
        }
        catch (Exception ex)
        {
            // The reply still goes out; only the dedupe of a later redelivery is weakened.
            Log.ClaimFailed(_logger, ex, id);
        }
    }

    /// <summary>Renews every claim held by a running request, every third of the claim's time to live, until the host stops.</summary>
    private async Task RenewClaimsAsync()
    {
        using var timer = new PeriodicTimer(_renewInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (_held.IsEmpty)
                {
                    continue;
                }

                var renewals = new List<Task>(_held.Count);
                foreach (var (id, holder) in _held)
                {
                    renewals.Add(RenewAsync(id, holder));
                }

                await Task.WhenAll(renewals).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    // Never throws.
    private async Task RenewAsync(CorrelationId id, string holder)
    {
        try
        {
            var renewed = await _store!.RenewClaimAsync(id, holder, _options.ClaimTimeToLive, CancellationToken.None)
                .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
            if (!renewed && _held.TryRemove(new KeyValuePair<CorrelationId, string>(id, holder)))
            {
                RpcMetrics.ClaimEvents.Add(1, new KeyValuePair<string, object?>("event", "lost"));
                Log.ClaimLost(_logger, id, holder);
            }
        }
        catch (Exception ex)
        {
            Log.ClaimRenewFailed(_logger, ex, id);
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
