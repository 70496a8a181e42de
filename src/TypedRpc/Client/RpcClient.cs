using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TypedRpc.Client;
using TypedRpc.Diagnostics;
using TypedRpc.Ownership;
using TypedRpc.Serialization;
using TypedRpc.Transport;

namespace TypedRpc;

/// <summary>
/// The caller side of TypedRpc: sends calls through an <see cref="IRpcTransport"/> and completes
/// each waiting call when its reply arrives. Generated proxies call it as their
/// <see cref="IRpcInvoker"/>; <see cref="IRpcResults"/> fetches results by correlation id.
/// </summary>
public sealed class RpcClient : IRpcInvoker, IRpcResults, IAsyncDisposable, IResultOwnership
{
    private readonly IRpcTransport _transport;
    private readonly TypedRpcOptions _options;
    private readonly ILogger _logger;
    private readonly CallTable _calls;
    private readonly OwnershipTracker _ownership;
    private readonly CallInvoker _invoker;
    private readonly RpcResults _results;
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private IRpcReplySubscription? _replies;
    private volatile bool _started;
    private volatile bool _hostStarted;
    private int _stopRequested;

    /// <summary>Creates a client.</summary>
    /// <param name="transport">Carries requests and replies.</param>
    /// <param name="serializer">Encodes arguments and decodes replies.</param>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="store">The ownership store, or <see langword="null"/> to run without one (no forwarding, no stored results).</param>
    /// <param name="claims">The claim store that carries cancels to the servers, or <see langword="null"/> (servers then stop at the request's deadline).</param>
    /// <param name="unmatchedHandler">Receives replies no waiter accepted, or <see langword="null"/>.</param>
    /// <param name="logger">The logger, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">An option is invalid (the message names it).</exception>
    public RpcClient(IRpcTransport transport, IRpcSerializer serializer, TypedRpcOptions options,
        IRpcOwnershipStore? store = null, IRpcClaimStore? claims = null, IUnmatchedReplyHandler? unmatchedHandler = null, ILogger<RpcClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(options);
        var problems = TypedRpcOptionsValidator.Problems(options);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _transport = transport;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        store = options.EnableOwnership ? store : null;
        claims = options.EnableOwnership ? claims : null;
        _calls = new CallTable(store, claims, serializer, options, _logger);
        _ownership = new OwnershipTracker(store, unmatchedHandler, options, _calls, _logger);
        _invoker = new CallInvoker(this, transport, serializer, options, _calls, _ownership, _logger);
        _results = new RpcResults(store, serializer, options, this, claims);
    }

    /// <summary>
    /// Set for a client made by <c>AddTypedRpc</c>: it serves calls only once the host started
    /// TypedRpc (<see cref="Hosting.TypedRpcRuntime"/>), because without it no server of this
    /// instance runs and nothing else would tell the caller why its call never gets an answer.
    /// </summary>
    internal bool NeedsHost { get; init; }

    /// <summary>Called by <see cref="Hosting.TypedRpcRuntime"/> when the host starts TypedRpc.</summary>
    internal void HostStarting() => _hostStarted = true;

    /// <summary>This instance's id.</summary>
    public string InstanceId => _options.InstanceId;

    /// <summary>The number of calls waiting for replies.</summary>
    public int PendingCount => _calls.Count;

    /// <summary>Where this instance's replies arrive now (empty until started); a transport may move it, e.g. when a lease is lost.</summary>
    public RpcReplyAddress ReplyAddress => _replies?.Address ?? default;

    /// <summary>Whether a stop was requested: new calls are refused from then on.</summary>
    private bool Stopping => Volatile.Read(ref _stopRequested) != 0;

    /// <summary>Whether calls can start at once: started, and no stop requested.</summary>
    internal bool IsServing => _started && !Stopping;

    /// <summary>Subscribes to this instance's replies and wake-ups. Called by the host; the first call starts it too.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when the client can receive replies.</returns>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_started)
        {
            return;
        }

        await _startLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_started)
            {
                return;
            }

            ObjectDisposedException.ThrowIf(Stopping, this);
            _replies = await _transport.SubscribeRepliesAsync(_options.InstanceId, OnReplyAsync, cancellationToken).ConfigureAwait(false);

            // A store that is down does not stop the start: calls behave as WhenStoreUnavailable says.
            await _ownership.StartAsync(_replies, cancellationToken).ConfigureAwait(false);
            _started = true;
            Log.ClientStarted(_logger, _options.InstanceId, _replies.Address.ToString());
        }
        finally
        {
            _startLock.Release();
        }
    }

    /// <summary>
    /// Stops the client. New calls are refused at once with <see cref="RpcStatusCode.Unavailable"/>
    /// ("The client is shutting down.", nothing sent); calls already waiting get up to
    /// <see cref="TypedRpcOptions.ShutdownDrainTimeout"/> for their replies, so a graceful leave
    /// loses none; those still waiting then fail with <see cref="RpcStatusCode.Unavailable"/>.
    /// Then replies and wake-ups are unsubscribed.
    /// </summary>
    /// <param name="cancellationToken">Ends the wait for waiting calls early.</param>
    /// <returns>A task that completes when stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) != 0)
        {
            return;
        }

        // New calls are refused from here on (Stopping); replies keep arriving (the subscription
        // is still open) while the waiting calls end.
        await _calls.DrainAsync(cancellationToken).ConfigureAwait(false);

        _calls.Close();
        Log.ClientStopping(_logger, _options.InstanceId, _calls.Count);
        _calls.EndAll(new RpcStatus(RpcStatusCode.Unavailable, "The client stopped before the reply arrived (TypedRpc:ShutdownDrainTimeout)."));
        await _ownership.StopAsync().ConfigureAwait(false);
        if (_replies is not null)
        {
            await _replies.DisposeAsync().ConfigureAwait(false);
        }

        _calls.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    /// <inheritdoc />
    public ValueTask<TResult> InvokeAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments =>
        _invoker.InvokeAsync<TArgs, TResult>(method, args, options, cancellationToken);

    /// <inheritdoc />
    public ValueTask InvokeNoResultAsync<TArgs>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments =>
        _invoker.InvokeNoResultAsync(method, args, options, cancellationToken);

    /// <inheritdoc />
    public ValueTask<RpcResult<TResult>> InvokeForResultAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments =>
        _invoker.InvokeForResultAsync<TArgs, TResult>(method, args, options, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<TResult> InvokeStreaming<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments =>
        _invoker.InvokeStreaming<TArgs, TResult>(method, args, options, cancellationToken);

    /// <inheritdoc />
    /// <remarks>The same as the <see cref="IRpcResults"/> service <c>AddTypedRpc</c> registers.</remarks>
    public ValueTask<RpcResult<T>> GetAsync<T>(string correlationId, CancellationToken cancellationToken = default) =>
        _results.GetAsync<T>(correlationId, cancellationToken);

    /// <inheritdoc />
    /// <remarks>The same as the <see cref="IRpcResults"/> service <c>AddTypedRpc</c> registers.</remarks>
    public ValueTask<RpcResult<T>> WaitAsync<T>(string correlationId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _results.WaitAsync<T>(correlationId, timeout, cancellationToken);

    /// <summary>Starts the client on a first call, unless it is stopping or (made by <c>AddTypedRpc</c>) the host has not started TypedRpc.</summary>
    /// <exception cref="RpcException">Stopping, not started by the host, or the reply subscription failed (Unavailable).</exception>
    internal async ValueTask EnsureStartedAsync(CancellationToken cancellationToken)
    {
        if (Stopping)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.Unavailable, "The client is shutting down."), null);
        }

        if (!_started)
        {
            if (NeedsHost && !_hostStarted)
            {
                throw new RpcException(new RpcStatus(RpcStatusCode.Unavailable,
                    "TypedRpc is not started: start the host (IHost.StartAsync, or TypedRpcRuntime.StartAsync where there is no host, as in a unit test) before making calls."), null);
            }

            try
            {
                await StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not ObjectDisposedException)
            {
                throw new RpcException(new RpcStatus(RpcStatusCode.Unavailable, "The client could not subscribe to its replies: " + ex.Message), null, ex);
            }
        }
    }

    ValueTask IResultOwnership.EnsureStartedAsync(CancellationToken cancellationToken) => EnsureStartedAsync(cancellationToken);

    ValueTask IResultOwnership.TakeOverAsync(CorrelationId id, TimeSpan waited, CancellationToken cancellationToken) =>
        _ownership.TakeOverAsync(id, waited, cancellationToken);

    ResultWatchers IResultOwnership.Watchers => _ownership.Watchers;

    private async ValueTask OnReplyAsync(RpcReply reply, CancellationToken cancellationToken)
    {
        if (_calls.TryGetValue(reply.Id, out var call))
        {
            // Learnt before the waiter wakes, so the caller's next call already goes by it.
            if (call.AskedServerForOwner && reply.Sequence == 0 && call.Method is { } method)
            {
                _ownership.LearnFrom(method.Service, reply);
            }

            if (call.TryDeliver(reply))
            {
                RpcMetrics.RepliesDelivered.Add(1, new KeyValuePair<string, object?>("route", "direct"));
                return;
            }
        }

        await _ownership.HandleUnmatchedAsync(reply, call is null ? UnmatchedReason.UnknownCall : UnmatchedReason.CallEnded).ConfigureAwait(false);
    }
}
