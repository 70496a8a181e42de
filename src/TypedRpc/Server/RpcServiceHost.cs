using System;
using System.Collections.Generic;
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
    private IAsyncDisposable? _subscription;
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
    }

    public RpcServiceDescriptor Descriptor => _registration.Descriptor;

    /// <summary>Requests being handled right now.</summary>
    public int Running => Volatile.Read(ref _running);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
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

        if (_store is not null)
        {
            RpcClaim claim;
            try
            {
                var ttl = TimeSpan.FromMilliseconds(Math.Max(1_000, request.DeadlineUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())) + _options.OwnerGracePeriod;
                claim = await _store.TryClaimAsync(request.Id, _options.InstanceId, ttl, CancellationToken.None).AsTask()
                    .WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.ClaimFailed(_logger, ex, request.Id);
                if (_options.WhenStoreUnavailable == StoreFailureMode.FailCall)
                {
                    // Without a claim the request could run twice; refuse rather than risk it.
                    await ReplyErrorAsync(request, new RpcStatus(RpcStatusCode.Unavailable, "The server could not claim the request: the ownership store is unavailable.")).ConfigureAwait(false);
                    return;
                }

                claim = new RpcClaim(RpcClaimState.Claimed, _options.InstanceId, Array.Empty<RpcReply>());
            }

            switch (claim.State)
            {
                case RpcClaimState.Running:
                    RpcMetrics.DuplicatesSuppressed.Add(1, new KeyValuePair<string, object?>("outcome", "running"));
                    Log.DuplicateRunning(_logger, request.Id, claim.Holder);
                    return;
                case RpcClaimState.Completed:
                    foreach (var stored in claim.Replies)
                    {
                        await _transport.SendReplyAsync(request.ReplyTo, stored, CancellationToken.None).ConfigureAwait(false);
                    }

                    RpcMetrics.DuplicatesSuppressed.Add(1, new KeyValuePair<string, object?>("outcome", "completed"));
                    Log.DuplicateCompleted(_logger, request.Id, claim.Replies.Count);
                    return;
            }
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var activity = RpcTracing.StartServer(request);
        var call = new ServerCall(request, method, _transport, _serializer, _options.MaxCachedStreamReplies, _stopping.Token);
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

            if (_store is not null)
            {
                try
                {
                    await _store.ReleaseClaimAsync(request.Id, _options.InstanceId, CancellationToken.None).AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
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
            call.ServerContext.Dispose();
            await scope.DisposeAsync().ConfigureAwait(false);
            RpcMetrics.RecordServer(request.FullMethodName, call.FinalStatus, started);
            RpcTracing.End(activity, call.FinalStatus);
        }

        if (_store is not null)
        {
            try
            {
                await _store.CompleteClaimAsync(request.Id, call.SentReplies ?? (IReadOnlyList<RpcReply>)Array.Empty<RpcReply>(), _options.ResultTimeToLive, CancellationToken.None)
                    .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The reply went out; only the dedupe of a later redelivery is weakened.
                Log.ClaimFailed(_logger, ex, request.Id);
            }
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
