using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
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
/// <remarks>
/// Per call: a correlation id; a waiter in the pending-call table before anything is sent; the
/// owner recorded in the ownership store (bounded by <see cref="TypedRpcOptions.StoreOperationTimeout"/>);
/// the request handed to the transport; the wait bounded by the deadline (one timing wheel for
/// all calls) and the caller's tokens. A reply no waiter accepts is forwarded to its owner, or
/// stored and handed to the <see cref="IUnmatchedReplyHandler"/>.
/// </remarks>
public sealed class RpcClient : IRpcInvoker, IRpcResults, IAsyncDisposable
{
    private readonly IRpcTransport _transport;
    private readonly IRpcOwnershipStore? _store;
    private readonly IRpcSerializer _serializer;
    private readonly IUnmatchedReplyHandler? _unmatchedHandler;
    private readonly TypedRpcOptions _options;
    private readonly ILogger _logger;
    private readonly PendingTable _pending = new();
    private readonly ConcurrentDictionary<CorrelationId, TaskCompletionSource> _watchers = new();
    private readonly TimerWheel _wheel = new();
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private IRpcReplySubscription? _replies;
    private IAsyncDisposable? _wakeUps;
    private Task? _resubscribing;
    private RpcReplyAddress _replyAddress;
    private volatile bool _started;
    private int _stopRequested;
    private volatile bool _stopped;

    /// <summary>Whether a stop was requested: new calls are refused from then on.</summary>
    private bool Stopping => Volatile.Read(ref _stopRequested) != 0;
    private TaskCompletionSource? _drained;

    /// <summary>Creates a client.</summary>
    /// <param name="transport">Carries requests and replies.</param>
    /// <param name="serializer">Encodes arguments and decodes replies.</param>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="store">The ownership store, or <see langword="null"/> to run without one (no forwarding, no stored results).</param>
    /// <param name="unmatchedHandler">Receives replies no waiter accepted, or <see langword="null"/>.</param>
    /// <param name="logger">The logger, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">An option is invalid (the message names it).</exception>
    public RpcClient(IRpcTransport transport, IRpcSerializer serializer, TypedRpcOptions options,
        IRpcOwnershipStore? store = null, IUnmatchedReplyHandler? unmatchedHandler = null, ILogger<RpcClient>? logger = null)
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
        _serializer = serializer;
        _options = options;
        _store = options.EnableOwnership ? store : null;
        _unmatchedHandler = unmatchedHandler;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _slots = new SemaphoreSlim(options.MaxPendingCalls, options.MaxPendingCalls);
    }

    /// <summary>
    /// Set for a client made by <c>AddTypedRpc</c>: it serves calls only once the host started
    /// TypedRpc (<see cref="Hosting.TypedRpcRuntime"/>), because without it no server of this
    /// instance runs and nothing else would tell the caller why its call never gets an answer.
    /// </summary>
    internal bool NeedsHost { get; init; }

    /// <summary>Called by <see cref="Hosting.TypedRpcRuntime"/> when the host starts TypedRpc.</summary>
    internal void HostStarting() => _hostStarted = true;

    private volatile bool _hostStarted;

    /// <summary>This instance's id.</summary>
    public string InstanceId => _options.InstanceId;

    /// <summary>The number of calls waiting for replies.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Where this instance's replies arrive now (empty until started); a transport may move it, e.g. when a lease is lost.</summary>
    public RpcReplyAddress ReplyAddress => _replies?.Address ?? _replyAddress;

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
            _replyAddress = _replies.Address;
            if (_store is not null)
            {
                try
                {
                    _wakeUps = await _store.SubscribeWakeUpsAsync(_options.InstanceId, OnWakeUpAsync, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The store is down: start degraded rather than not at all. Calls behave as
                    // WhenStoreUnavailable says while it is down; wake-ups missed until the
                    // subscription is made are covered by the store check at each deadline.
                    Log.WakeUpsDeferred(_logger, ex, _options.InstanceId);
                    _resubscribing = Task.Run(SubscribeWakeUpsLaterAsync, CancellationToken.None);
                }
            }

            _started = true;
            Log.ClientStarted(_logger, _options.InstanceId, _replyAddress.ToString());
        }
        finally
        {
            _startLock.Release();
        }
    }

    /// <summary>Subscribes to wake-ups once the store is reachable (started when the store was down at start).</summary>
    private async Task SubscribeWakeUpsLaterAsync()
    {
        while (!_stopped)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
                var subscription = await _store!.SubscribeWakeUpsAsync(_options.InstanceId, OnWakeUpAsync, CancellationToken.None)
                    .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                _wakeUps = subscription;

                // Stopped meanwhile: whichever of the two takes the subscription disposes it.
                if (_stopped && Interlocked.Exchange(ref _wakeUps, null) is { } late)
                {
                    await late.DisposeAsync().ConfigureAwait(false);
                    return;
                }

                Log.WakeUpsSubscribed(_logger, _options.InstanceId);
                return;
            }
            catch (Exception ex)
            {
                Log.WakeUpsDeferred(_logger, ex, _options.InstanceId);
            }
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

        // New calls are refused from here on (Stopping). A call that ends before the drain signal
        // exists is covered by the emptiness check after it is made.
        if (!_pending.IsEmpty && _options.ShutdownDrainTimeout > TimeSpan.Zero)
        {
            _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        if (_drained is { } drained)
        {
            // Replies keep arriving (the subscription is still open) while the waiting calls end.
            Log.ClientDraining(_logger, _options.InstanceId, _pending.Count, _options.ShutdownDrainTimeout);
            if (_pending.IsEmpty)
            {
                drained.TrySetResult();
            }

            try
            {
                await drained.Task.WaitAsync(_options.ShutdownDrainTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Those still waiting fail below.
            }
        }

        _stopped = true;
        Log.ClientStopping(_logger, _options.InstanceId, _pending.Count);
        var status = new RpcStatus(RpcStatusCode.Unavailable, "The client stopped before the reply arrived (TypedRpc:ShutdownDrainTimeout).");
        foreach (var call in _pending.Snapshot())
        {
            call.TryEnd(CallState.Failed, status);
        }

        if (Interlocked.Exchange(ref _wakeUps, null) is { } wakeUps)
        {
            await wakeUps.DisposeAsync().ConfigureAwait(false);
        }

        if (_replies is not null)
        {
            await _replies.DisposeAsync().ConfigureAwait(false);
        }

        _wheel.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    /// <inheritdoc />
    public ValueTask<TResult> InvokeAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        // Options a scope gives to calls whose own leave a setting unset (RpcCallContext).
        options = RpcCallContext.Apply(options);
        try
        {
            CheckKind(method, RpcMethodKind.Unary);
            if (TryStart(method, args, options, cancellationToken, Results<TResult>.Value) is { } call)
            {
                return call.Result;
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResult>(ex);
        }

        return InvokeSlowAsync<TArgs, TResult>(method, args, options, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask InvokeNoResultAsync<TArgs>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        // Options a scope gives to calls whose own leave a setting unset (RpcCallContext).
        options = RpcCallContext.Apply(options);
        try
        {
            CheckKind(method, RpcMethodKind.NoResult);
            if (TryStart(method, args, options, cancellationToken, s_noResult) is { } call)
            {
                return call.Done;
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }

        return InvokeNoResultSlowAsync(method, args, options, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<RpcResult<TResult>> InvokeForResultAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        // Options a scope gives to calls whose own leave a setting unset (RpcCallContext).
        options = RpcCallContext.Apply(options);
        try
        {
            CheckKind(method, RpcMethodKind.Unary);
            if (TryStart(method, args, options, cancellationToken, Results<TResult>.ForResult) is { } call)
            {
                return call.Result;
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<RpcResult<TResult>>(ex);
        }

        return InvokeForResultSlowAsync<TArgs, TResult>(method, args, options, cancellationToken);
    }

    private async ValueTask<TResult> InvokeSlowAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        var outcome = await CallAsync(method, args, options, cancellationToken).ConfigureAwait(false);
        return DecodeValue<TResult>(outcome, method);
    }

    private async ValueTask InvokeNoResultSlowAsync<TArgs>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        var outcome = await CallAsync(method, args, options, cancellationToken).ConfigureAwait(false);
        Unwrap(outcome, method);
    }

    private async ValueTask<RpcResult<TResult>> InvokeForResultSlowAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        var outcome = await CallAsync(method, args, options, cancellationToken).ConfigureAwait(false);
        return ToResult<TResult>(outcome);
    }

    private TResult DecodeValue<TResult>(in CallResult outcome, RpcMethodDescriptor method)
    {
        var reply = Unwrap(outcome, method);
        return PayloadCodec.DecodeValue<TResult>(reply.Payload, _serializer, reply.Id);
    }

    /// <param name="outcome">How the call ended.</param>
    /// <param name="call">The call, when in hand (not after a slow-path join).</param>
    private RpcResult<TResult> ToResult<TResult>(in CallResult outcome, PendingCall? call = null)
    {
        if (outcome.Outcome.State == CallState.TimedOut)
        {
            // The call formats its id when the result's CorrelationId is read: nothing is allocated
            // per deadline that the caller's task would keep alive.
            return call is null ? RpcResult<TResult>.Pending(outcome.Id.ToString()) : RpcResult<TResult>.PendingFor(call);
        }

        var id = outcome.Id.ToString();
        switch (outcome.Outcome.State)
        {
            case CallState.Cancelled:
                throw new OperationCanceledException("The call was cancelled by the caller.", outcome.CancelledBy);
            case CallState.Completed when outcome.Outcome.Status.StatusCode == RpcStatusCode.OK:
                try
                {
                    return RpcResult<TResult>.Completed(PayloadCodec.DecodeValue<TResult>(outcome.Outcome.Reply!.Payload, _serializer, outcome.Id), id);
                }
                catch (RpcException ex)
                {
                    return RpcResult<TResult>.Failed(ex.Status, id);
                }

            default:
                return RpcResult<TResult>.Failed(outcome.Outcome.Status, id);
        }
    }

    private static CallResult Ended(UnaryCall call) => new(call.Id, call.Outcome, call.CancelledBy);

    private delegate UnaryCall<TOut> CallFactory<TOut>(RpcClient client, CorrelationId id, RpcMethodDescriptor method, long deadlineMs);

    /// <summary>A call started without an async frame, per result shape: what its outcome becomes (a subclass, not a delegate field: 8 bytes less per waiting call).</summary>
    private static class Results<TResult>
    {
        public static readonly CallFactory<TResult> Value = static (client, id, method, deadlineMs) => new ValueCall<TResult>(client, id, method, deadlineMs);

        public static readonly CallFactory<RpcResult<TResult>> ForResult = static (client, id, method, deadlineMs) => new ForResultCall<TResult>(client, id, method, deadlineMs);
    }

    private static readonly CallFactory<byte> s_noResult = static (client, id, method, deadlineMs) => new NoResultCall(client, id, method, deadlineMs);

    /// <summary>Decoded into the method's result, or thrown as an <see cref="RpcException"/>.</summary>
    private sealed class ValueCall<TResult>(RpcClient client, CorrelationId id, RpcMethodDescriptor method, long deadlineMs)
        : UnaryCall<TResult>(client, id, method, deadlineMs)
    {
        protected override TResult Produce() => Client.DecodeValue<TResult>(Ended(this), Method!);
    }

    /// <summary>Turned into an <see cref="RpcResult{T}"/> (a timeout is Pending, not an exception).</summary>
    private sealed class ForResultCall<TResult>(RpcClient client, CorrelationId id, RpcMethodDescriptor method, long deadlineMs)
        : UnaryCall<RpcResult<TResult>>(client, id, method, deadlineMs)
    {
        protected override RpcResult<TResult> Produce() => Client.ToResult<TResult>(Ended(this), this);
    }

    /// <summary>A method without a result: only a failure is thrown.</summary>
    private sealed class NoResultCall(RpcClient client, CorrelationId id, RpcMethodDescriptor method, long deadlineMs)
        : UnaryCall<byte>(client, id, method, deadlineMs)
    {
        protected override byte Produce()
        {
            Unwrap(Ended(this), Method!);
            return 0;
        }
    }

    /// <summary>
    /// Starts a plain call (no idempotency key, a free in-flight slot, the client started) without
    /// an async frame: the call object itself is what the caller awaits, so a waiting call costs
    /// that object and its table entry. Anything else returns <see langword="null"/> and takes
    /// the general path (<see cref="CallAsync"/>).
    /// </summary>
    private UnaryCall<TOut>? TryStart<TArgs, TOut>(RpcMethodDescriptor method, TArgs args, in RpcCallOptions options, CancellationToken cancellationToken, CallFactory<TOut> create)
        where TArgs : struct, IRpcArguments
    {
        if (!_started || Stopping || options.IdempotencyKey is not null || cancellationToken.IsCancellationRequested
            || options.CancellationToken.IsCancellationRequested || !_slots.Wait(0))
        {
            return null;
        }

        long deadlineMs, deadlineUnixMs;
        try
        {
            (deadlineMs, deadlineUnixMs) = Deadline(method, options);
        }
        catch
        {
            _slots.Release();
            throw;
        }

        var id = CorrelationId.NewId();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var previous = System.Diagnostics.Activity.Current;
        var activity = RpcTracing.StartClient(method, id);
        var call = create(this, id, method, deadlineMs);
        call.HoldsSlot = true;
        call.RecordFrom = started;
        if (activity is not null)
        {
            call.SetSpan(activity);
        }

        LimitWait(call, options);
        try
        {
            Register(call);
            call.RegisterCancellation(cancellationToken, options.CancellationToken, RemoteCancelDeadline(options, deadlineUnixMs));
            EncodeAndSend(call, method, args, deadlineUnixMs, options, activity);
            return call;
        }
        finally
        {
            if (activity is not null)
            {
                // This method is not async: the span must not stay current in the caller's context.
                System.Diagnostics.Activity.Current = previous;
            }
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<TResult> InvokeStreaming<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        // Options a scope gives to calls whose own leave a setting unset (RpcCallContext).
        options = RpcCallContext.Apply(options);
        CheckKind(method, RpcMethodKind.ServerStreaming);
        return StreamAsync<TArgs, TResult>(method, args, options, cancellationToken, default);
    }

    /// <inheritdoc />
    public async ValueTask<RpcResult<T>> GetAsync<T>(string correlationId, CancellationToken cancellationToken = default)
    {
        var id = ParseId(correlationId);
        var store = RequireStore();
        IReadOnlyList<RpcReply> replies;
        try
        {
            replies = await store.GetRepliesAsync(id, cancellationToken).AsTask().WaitAsync(_options.StoreOperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.Unavailable, "The ownership store could not be read: " + ex.Message), correlationId, ex);
        }

        return ToResult<T>(id, replies);
    }

    /// <inheritdoc />
    public async ValueTask<RpcResult<T>> WaitAsync<T>(string correlationId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        var id = ParseId(correlationId);
        RequireStore();
        var until = TimerWheel.NowMs + (long)timeout.TotalMilliseconds;
        var watcher = _watchers.GetOrAdd(id, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            // Take over ownership so a reply read by another instance is forwarded here.
            await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _store!.RegisterOwnerAsync(id, new RpcOwner(InstanceId, ReplyAddress), timeout + _options.OwnerGracePeriod, cancellationToken)
                    .AsTask().WaitAsync(_options.StoreOperationTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw new RpcException(new RpcStatus(RpcStatusCode.Unavailable, "The ownership store could not be written: " + ex.Message), correlationId, ex);
            }

            var poll = 50;
            while (true)
            {
                var result = await GetAsync<T>(correlationId, cancellationToken).ConfigureAwait(false);
                var remaining = until - TimerWheel.NowMs;
                if (!result.IsPending || remaining <= 0)
                {
                    return result;
                }

                // Woken by a reply or a forward; poll as a fallback (a wake-up can be missed while the store restarts).
                await Task.WhenAny(watcher.Task, Task.Delay((int)Math.Min(remaining, poll), cancellationToken)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                poll = Math.Min(poll * 2, 1_000);
            }
        }
        finally
        {
            _watchers.TryRemove(new KeyValuePair<CorrelationId, TaskCompletionSource>(id, watcher));
        }
    }

    internal void Release(PendingCall call)
    {
        if (_pending.TryRemove(call))
        {
            RpcMetrics.PendingChanged(-1);
            if (_drained is { } drained && _pending.IsEmpty)
            {
                drained.TrySetResult();
            }
        }

        _wheel.Cancel(call);
        if (call.HoldsSlot)
        {
            call.HoldsSlot = false;
            _slots.Release();
        }
    }

    internal void Rearm(PendingCall call, long dueMs) => _wheel.Schedule(call, dueMs);

    /// <summary>Called on the wheel thread when a call's timer fires.</summary>
    internal void OnCallExpired(PendingCall call)
    {
        if (call.IsTerminal)
        {
            return;
        }

        var now = TimerWheel.NowMs;
        if (call.Phase == CallPhase.RegisteringOwner && now < call.DeadlineMs)
        {
            call.TryEnd(CallState.Failed, new RpcStatus(RpcStatusCode.Unavailable,
                $"The ownership store did not record the call within {_options.StoreOperationTimeout.TotalMilliseconds:0} ms."));
            return;
        }

        if (call is StreamCall stream)
        {
            ExpireStream(stream, now);
            return;
        }

        if (_store is not null && call is UnaryCall)
        {
            // Checking the store is I/O: leave the wheel thread.
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.client.CheckStoreThenEndAsync(state.call), (client: this, call), preferLocal: false);
            return;
        }

        // Nothing to wait for: end the call here. What runs is short (the table, the wheel, the
        // slot; the caller's continuation is queued by the call), and a thread-pool hop per
        // deadline was what fell behind when 200,000 deadlines a second came due (waiters benchmark).
        EndAtDeadline(call);
    }

    private void ExpireStream(StreamCall stream, long now)
    {
        if (now >= stream.DeadlineMs)
        {
            stream.TryEnd(CallState.TimedOut, new RpcStatus(RpcStatusCode.DeadlineExceeded, "The stream's deadline passed before it ended."));
            return;
        }

        var due = stream.WaitDueMs;
        if (now < due)
        {
            // A message arrived after the timer was set: wait for the new due time.
            _wheel.Schedule(stream, due);
            return;
        }

        if (stream.State == CallState.WaitingNext)
        {
            stream.TryEnd(CallState.TimedOut, new RpcStatus(RpcStatusCode.DeadlineExceeded, $"No stream message arrived for {stream.IdleTimeoutMs} ms."));
            return;
        }

        var method = stream.Method;
        if (!stream.Extended && method is not null && method.ExtendBy > TimeSpan.Zero)
        {
            stream.Extended = true;
            stream.FirstDueMs = now + (long)method.ExtendBy.TotalMilliseconds;
            _wheel.Schedule(stream, stream.WaitDueMs);
            return;
        }

        stream.TryEndAtDeadline();
    }

    private async Task CheckStoreThenEndAsync(PendingCall call)
    {
        // A reply forwarded through the store may be waiting there although its wake-up was lost.
        try
        {
            var replies = await _store!.GetRepliesAsync(call.Id, CancellationToken.None).AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
            foreach (var reply in replies)
            {
                call.TryDeliver(reply);
            }
        }
        catch (Exception ex)
        {
            Log.StoreCheckFailed(_logger, ex, call.Id);
        }

        if (!call.IsTerminal)
        {
            EndAtDeadline(call);
        }
    }

    /// <summary>Ends a call whose deadline (or MaxWait) passed, or extends it once (ExtendBy).</summary>
    private void EndAtDeadline(PendingCall call)
    {
        if (call.WaitUntilMs != long.MaxValue && TimerWheel.NowMs < call.DeadlineMs)
        {
            // MaxWait: this caller stops waiting; the request keeps its deadline, the owner record
            // stays, and the reply is stored for IRpcResults when it comes.
            call.TryEnd(CallState.TimedOut, new RpcStatus(RpcStatusCode.DeadlineExceeded, "The caller stopped waiting (MaxWait); the call runs on until its deadline: fetch its result by correlation id."));
            return;
        }

        var method = call.Method;
        if (!call.Extended && method is not null && method.ExtendBy > TimeSpan.Zero && call.State == CallState.WaitingFirst)
        {
            call.Extended = true;
            call.DeadlineMs = TimerWheel.NowMs + (long)method.ExtendBy.TotalMilliseconds;
            _wheel.Schedule(call, call.WaitDueMs);
            return;
        }

        call.TryEndAtDeadline();
    }

    /// <summary>How a call ends when its deadline passes without a reply.</summary>
    internal static readonly RpcStatus DeadlineStatus = new(RpcStatusCode.DeadlineExceeded, "No reply arrived before the deadline.");

    private readonly record struct CallResult(CorrelationId Id, CallOutcome Outcome, CancellationToken CancelledBy);

    private async ValueTask<CallResult> CallAsync<TArgs>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        cancellationToken.ThrowIfCancellationRequested();
        options.CancellationToken.ThrowIfCancellationRequested();
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);

        var (deadlineMs, deadlineUnixMs) = Deadline(method, options);
        var id = options.IdempotencyKey is { } key ? CorrelationId.FromIdempotencyKey(method.FullName, key) : CorrelationId.NewId();

        // An idempotent call already in flight on this instance is joined, not sent again — if it
        // is the same request: the key was not made for another one.
        if (options.IdempotencyKey is not null && _pending.TryGetValue(id, out var existing) && existing is UnaryCall joined)
        {
            if (joined.Fingerprint is { } first && first != Fingerprint(method, args, id))
            {
                throw new RpcException(RpcIdempotency.KeyReusedStatus, id.ToString());
            }

            var joinedOutcome = await joined.JoinAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            return new CallResult(id, joinedOutcome, joined.CancelledBy);
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var activity = RpcTracing.StartClient(method, id);
        var call = new UnaryCall(this, id, method, deadlineMs);
        if (options.IdempotencyKey is not null)
        {
            // Known before the call is in the table: a second caller of the key compares with it.
            call.Fingerprint = Fingerprint(method, args, id);
        }

        LimitWait(call, options);
        await AcquireSlotAsync(call, deadlineMs, cancellationToken, options.CancellationToken).ConfigureAwait(false);
        Register(call);
        call.RegisterCancellation(cancellationToken, options.CancellationToken, RemoteCancelDeadline(options, deadlineUnixMs));
        EncodeAndSend(call, method, args, deadlineUnixMs, options, activity);
        var outcome = await call.Completion.ConfigureAwait(false);
        RpcMetrics.RecordClient(method, outcome.Status.StatusCode, started);
        RpcTracing.End(activity, outcome.Status.StatusCode);
        return new CallResult(id, outcome, call.CancelledBy);
    }

    private async IAsyncEnumerable<TResult> StreamAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options,
        CancellationToken cancellationToken, [EnumeratorCancellation] CancellationToken enumeratorToken)
        where TArgs : struct, IRpcArguments
    {
        cancellationToken.ThrowIfCancellationRequested();
        enumeratorToken.ThrowIfCancellationRequested();
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var (deadlineMs, deadlineUnixMs, firstDueMs, idle) = StreamBounds(method, options);
        var id = options.IdempotencyKey is { } key ? CorrelationId.FromIdempotencyKey(method.FullName, key) : CorrelationId.NewId();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var activity = RpcTracing.StartClient(method, id);
        var endStatus = RpcStatusCode.Unknown;
        var call = new StreamCall(this, id, method, deadlineMs, firstDueMs, idle);

        await AcquireSlotAsync(call, firstDueMs, cancellationToken, options.CancellationToken).ConfigureAwait(false);
        Register(call);

        // Kept whatever the tokens (a stream that ends early for any reason tells its server) —
        // once registered: a call refused as a duplicate of one in flight must not cancel that one.
        call.KeepRequestDeadline(deadlineUnixMs);
        call.RegisterCancellation(cancellationToken, enumeratorToken, deadlineUnixMs);

        // The options' token is a third source of cancellation; it is rare, so it gets its own registration.
        using var optionsRegistration = options.CancellationToken.CanBeCanceled
            ? options.CancellationToken.UnsafeRegister(static s => ((StreamCall)s!).TryEnd(CallState.Cancelled, new RpcStatus(RpcStatusCode.Cancelled, "The call was cancelled by the caller.")), call)
            : default;

        EncodeAndSend(call, method, args, deadlineUnixMs, options, activity);
        try
        {
            var reader = call.Messages;
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (reader.TryRead(out var message))
                {
                    if (message.HasValue)
                    {
                        TResult item;
                        try
                        {
                            item = PayloadCodec.DecodeValue<TResult>(message.Payload, _serializer, id);
                        }
                        catch (RpcException)
                        {
                            call.TryEnd(CallState.Failed, new RpcStatus(RpcStatusCode.DataLoss, "A stream message could not be decoded."));
                            throw;
                        }

                        yield return item;
                    }

                    if (message.Status != RpcStatusCode.OK)
                    {
                        endStatus = message.Status;
                        throw new RpcException(message.ToStatus(), id.ToString());
                    }

                    if (message.IsEnd)
                    {
                        endStatus = RpcStatusCode.OK;
                        yield break;
                    }
                }
            }

            // The channel closed without the server's end message: the call ended locally.
            if (call.State == CallState.Cancelled)
            {
                throw new OperationCanceledException("The stream was cancelled by the caller.", call.CancelledBy);
            }

            throw new RpcException(call.LocalEnd ?? new RpcStatus(RpcStatusCode.Unknown, "The stream ended."), id.ToString());
        }
        finally
        {
            // The consumer stopped early (break, dispose, exception): release the waiter now.
            call.TryEnd(CallState.Cancelled, new RpcStatus(RpcStatusCode.Cancelled, "The consumer stopped reading the stream."));
            var status = endStatus != RpcStatusCode.Unknown ? endStatus : call.LocalEnd?.StatusCode ?? RpcStatusCode.Cancelled;
            RpcMetrics.RecordClient(method, status, started);
            RpcTracing.End(activity, status);
        }
    }

    /// <summary>
    /// What identifies an idempotent call's request beyond its id: the first 16 bytes of SHA-256
    /// over the method's full name, a newline and the encoded arguments, as 32 hex digits.
    /// </summary>
    private static string Fingerprint(RpcMethodDescriptor method, ReadOnlySpan<byte> payload)
    {
        var prefix = method.FullName.Length * 3 + 1;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(prefix + payload.Length);
        try
        {
            var written = System.Text.Encoding.UTF8.GetBytes(method.FullName, buffer);
            buffer[written++] = (byte)'\n';
            payload.CopyTo(buffer.AsSpan(written));
            Span<byte> digest = stackalloc byte[32];
            System.Security.Cryptography.SHA256.HashData(buffer.AsSpan(0, written + payload.Length), digest);
            return Convert.ToHexStringLower(digest[..16]);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private string Fingerprint<TArgs>(RpcMethodDescriptor method, TArgs args, CorrelationId id)
        where TArgs : struct, IRpcArguments
    {
        PooledBufferWriter payload;
        try
        {
            payload = PayloadCodec.EncodeArguments(args, _serializer);
        }
        catch (Exception ex)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.InvalidArgument, "The arguments could not be serialized: " + ex.Message), id.ToString(), ex);
        }

        using (payload)
        {
            return Fingerprint(method, payload.WrittenMemory.Span);
        }
    }

    /// <summary>MaxWait: the caller stops waiting before the request's deadline (the call runs on).</summary>
    private static void LimitWait(UnaryCall call, in RpcCallOptions options)
    {
        if (options.MaxWait is { } maxWait && TimerWheel.NowMs + (long)maxWait.TotalMilliseconds < call.DeadlineMs)
        {
            call.WaitUntilMs = TimerWheel.NowMs + (long)maxWait.TotalMilliseconds;
        }
    }

    /// <summary>Encodes the arguments of a registered call and sends its request without awaiting the send.</summary>
    private void EncodeAndSend<TArgs>(PendingCall call, RpcMethodDescriptor method, TArgs args, long deadlineUnixMs, in RpcCallOptions options, System.Diagnostics.Activity? activity)
        where TArgs : struct, IRpcArguments
    {
        // Encoding is the caller's code (serializers, argument types): its errors are the caller's.
        PooledBufferWriter payload;
        try
        {
            payload = PayloadCodec.EncodeArguments(args, _serializer);
        }
        catch (Exception ex)
        {
            call.TryEnd(CallState.Failed, new RpcStatus(RpcStatusCode.InvalidArgument, "The arguments could not be serialized."));
            throw new RpcException(new RpcStatus(RpcStatusCode.InvalidArgument, "The arguments could not be serialized: " + ex.Message), call.Id.ToString(), ex);
        }

        if (options.IdempotencyKey is not null && call.Fingerprint is null)
        {
            call.Fingerprint = Fingerprint(method, payload.WrittenMemory.Span);
        }

        _ = SendAsync(call, method, args.Key, payload, deadlineUnixMs, options, activity);
    }

    private async Task SendAsync(PendingCall call, RpcMethodDescriptor method, string? key, PooledBufferWriter payload, long deadlineUnixMs, RpcCallOptions options, System.Diagnostics.Activity? activity)
    {
        // The client span (or the caller's own, when nobody listens to TypedRpc) travels with the request.
        var trace = activity ?? System.Diagnostics.Activity.Current;
        Task? registering = null;
        try
        {
            if (_store is not null && options.IdempotencyKey is null && call.WaitUntilMs == long.MaxValue)
            {
                // Nothing can be stored for a new id yet, so there is nothing to look up first: the
                // owner record is written while the request goes out, which keeps a store round trip
                // off every call. It is only read when a reply lands on another instance's partition
                // (rare, and late enough); a reply that beats it to the store is kept as unknown and
                // found at the deadline. A failed write still fails the call Unavailable — possibly
                // after the server got the request, as gRPC's UNAVAILABLE allows.
                registering = RegisterOwnerAlongsideAsync(call, method);
            }
            else if (_store is not null)
            {
                call.Phase = CallPhase.RegisteringOwner;
                // The wheel bounds the store operation: the call's timer fires at the store timeout
                // (or the deadline, if sooner) while the owner is being recorded.
                var storeDue = Math.Min(call.DeadlineMs, TimerWheel.NowMs + (long)_options.StoreOperationTimeout.TotalMilliseconds);
                _wheel.Schedule(call, storeDue);

                // Whether the key's record names this very request: only then may a stored result answer it.
                var confirmed = false;
                try
                {
                    if (options.IdempotencyKey is not null
                        && await _store.GetOwnerAsync(call.Id, CancellationToken.None).ConfigureAwait(false) is { } previous)
                    {
                        confirmed = previous.Fingerprint is not null && previous.Fingerprint == call.Fingerprint;
                        if (previous.Fingerprint is not null && call.Fingerprint is not null && previous.Fingerprint != call.Fingerprint)
                        {
                            // The key names another request: refused before anything is recorded or sent.
                            call.TryEnd(CallState.Failed, RpcIdempotency.KeyReusedStatus);
                            return;
                        }

                        if (!string.Equals(previous.InstanceId, InstanceId, StringComparison.Ordinal))
                        {
                            // A retry of a call another instance made (it may be gone): this one takes over.
                            RpcMetrics.Takeovers.Add(1);
                        }
                    }

                    var ttl = TimeSpan.FromMilliseconds(Math.Max(0, call.DeadlineMs - TimerWheel.NowMs)) + method.ExtendBy + _options.OwnerGracePeriod;
                    await _store.RegisterOwnerAsync(call.Id, new RpcOwner(InstanceId, ReplyAddress) { Fingerprint = call.Fingerprint }, ttl, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (_options.WhenStoreUnavailable == StoreFailureMode.SendWithoutOwnership)
                {
                    Log.OwnershipSkipped(_logger, ex, call.Id);
                }

                if (call.IsTerminal)
                {
                    return;
                }

                // Takeover: a retry of an idempotent call (perhaps on another instance, the first one
                // gone) may find the result already stored — then it is answered without sending.
                // Recording ourselves as owner first means a reply arriving from now on is forwarded here.
                if (options.IdempotencyKey is not null && confirmed)
                {
                    // A stored DeadlineExceeded end says only that an earlier attempt got no result
                    // in time (say, its request reached a server late and was not run): this retry
                    // is sent again rather than answered with it — and then none of that attempt's
                    // messages are delivered, so a stream is never spliced from two runs. Without a
                    // confirmed record (it expired, or a result poll rewrote it) the request is sent:
                    // the server's claim knows the fingerprint and re-sends the stored result.
                    var stored = await _store.GetRepliesAsync(call.Id, CancellationToken.None).ConfigureAwait(false);
                    if (stored.Count > 0 && stored[^1] is not { IsEnd: true, Status: RpcStatusCode.DeadlineExceeded })
                    {
                        foreach (var reply in stored)
                        {
                            call.TryDeliver(reply);
                        }
                    }

                    if (call.IsTerminal)
                    {
                        return;
                    }
                }

                call.Phase = CallPhase.Waiting;
                _wheel.Schedule(call, call.WaitDueMs);
            }

            var request = new RpcRequest
            {
                Id = call.Id,
                Service = method.Service.ServiceName,
                Method = method.Name,
                ReplyTo = ReplyAddress,
                Owner = InstanceId,
                DeadlineUnixMs = deadlineUnixMs,
                Payload = payload.WrittenMemory,
                Key = key,
                Headers = options.Headers,
                TraceParent = trace?.IdFormat == System.Diagnostics.ActivityIdFormat.W3C ? trace.Id : null,
                TraceState = trace?.TraceStateString,
                Fingerprint = call.Fingerprint,
            };
            await _transport.SendRequestAsync(method.Service, request, CancellationToken.None).ConfigureAwait(false);
            if (registering is not null)
            {
                await registering.ConfigureAwait(false);
            }

            if (call.WaitUntilMs != long.MaxValue && !call.IsTerminal)
            {
                // The caller waits less than the deadline: only now that the request is out (so the
                // server will run it) may the wait end; a past time fires on the next tick.
                _wheel.Schedule(call, call.WaitUntilMs);
            }
        }
        catch (Exception ex)
        {
            Log.SendFailed(_logger, ex, call.Id, method.FullName);
            // A transport's RpcException is a verdict on the call (say, too large): keep its status.
            call.TryEnd(CallState.Failed, ex is RpcException rpc ? rpc.Status : new RpcStatus(RpcStatusCode.Unavailable, "The call could not be sent: " + ex.Message));
        }
        finally
        {
            payload.Dispose();
        }
    }

    /// <summary>Records the call's owner while its request is sent. Never throws: a failure ends the call (unless running without ownership is allowed).</summary>
    private async Task RegisterOwnerAlongsideAsync(PendingCall call, RpcMethodDescriptor method)
    {
        // The wheel bounds the store operation, as for a registration before the send: the call's
        // timer fires at the store timeout (or the deadline, if sooner) while the owner is recorded.
        call.Phase = CallPhase.RegisteringOwner;
        _wheel.Schedule(call, Math.Min(call.DeadlineMs, TimerWheel.NowMs + (long)_options.StoreOperationTimeout.TotalMilliseconds));
        try
        {
            var ttl = TimeSpan.FromMilliseconds(Math.Max(0, call.DeadlineMs - TimerWheel.NowMs)) + method.ExtendBy + _options.OwnerGracePeriod;
            await _store!.RegisterOwnerAsync(call.Id, new RpcOwner(InstanceId, ReplyAddress), ttl, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (_options.WhenStoreUnavailable == StoreFailureMode.SendWithoutOwnership)
        {
            Log.OwnershipSkipped(_logger, ex, call.Id);
        }
        catch (Exception ex)
        {
            Log.OwnerNotRecorded(_logger, ex, call.Id);
            call.TryEnd(CallState.Failed, new RpcStatus(RpcStatusCode.Unavailable, "The ownership store could not record the call: " + ex.Message));
            return;
        }

        if (!call.IsTerminal)
        {
            call.Phase = CallPhase.Waiting;
            _wheel.Schedule(call, call.WaitDueMs);
        }
    }

    private void Register(PendingCall call)
    {
        call.Phase = CallPhase.Waiting;
        if (_pending.TryAdd(call))
        {
            RpcMetrics.PendingChanged(1);
        }
        else
        {
            call.TryEnd(CallState.Failed, default);
            throw new RpcException(new RpcStatus(RpcStatusCode.AlreadyExists, "A call with the same idempotency key is already in flight on this instance."), call.Id.ToString());
        }

        _wheel.Schedule(call, call.WaitDueMs);
        if (_stopped)
        {
            call.TryEnd(CallState.Failed, new RpcStatus(RpcStatusCode.Unavailable, "The client is shutting down."));
        }
    }

    private async ValueTask AcquireSlotAsync(PendingCall call, long deadlineMs, CancellationToken cancellationToken, CancellationToken optionsToken)
    {
        if (_slots.Wait(0))
        {
            call.HoldsSlot = true;
            return;
        }

        if (_options.WhenPendingCallsFull == PendingCallLimitMode.Fail)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.ResourceExhausted, $"{_options.MaxPendingCalls} calls are already in flight (TypedRpc:MaxPendingCalls)."), call.Id.ToString());
        }

        var wait = Math.Max(0, deadlineMs - TimerWheel.NowMs);
        using var linked = optionsToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, optionsToken) : null;
        if (!await _slots.WaitAsync(TimeSpan.FromMilliseconds(wait), linked?.Token ?? cancellationToken).ConfigureAwait(false))
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.ResourceExhausted, $"No call slot freed up before the deadline ({_options.MaxPendingCalls} in flight, TypedRpc:MaxPendingCalls)."), call.Id.ToString());
        }

        call.HoldsSlot = true;
    }

    private (long DeadlineMs, long DeadlineUnixMs) Deadline(RpcMethodDescriptor method, in RpcCallOptions options)
    {
        var nowUnix = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var timeoutMs = MillisecondsLeft(options, nowUnix) ?? TimeoutMs(method, options);
        return (TimerWheel.NowMs + timeoutMs, nowUnix + timeoutMs);
    }

    /// <summary>The time left before the caller's <see cref="RpcCallOptions.Deadline"/>, or <see langword="null"/> without one.</summary>
    private static long? MillisecondsLeft(in RpcCallOptions options, long nowUnix)
    {
        if (options.Deadline is not { } deadline)
        {
            return null;
        }

        var left = deadline.ToUnixTimeMilliseconds() - nowUnix;
        return left > 0 ? left : throw new RpcException(new RpcStatus(RpcStatusCode.DeadlineExceeded, "The call's deadline has already passed."), null);
    }

    private long TimeoutMs(RpcMethodDescriptor method, in RpcCallOptions options) =>
        (long)(options.Timeout ?? method.Timeout ?? method.Service.DefaultTimeout ?? _options.DefaultTimeout).TotalMilliseconds;

    /// <summary>
    /// A stream's bounds: the whole stream ends by <see cref="RpcCallOptions.Deadline"/> when the
    /// caller gives one, else <see cref="TypedRpcOptions.MaxStreamDuration"/> from now (this is the
    /// deadline its request carries); the first message must come within the method's timeout, and
    /// each later one within <see cref="TypedRpcOptions.StreamIdleTimeout"/> (default: the timeout).
    /// So a stream that keeps delivering is not cut by a timeout sized for unary calls.
    /// </summary>
    private (long DeadlineMs, long DeadlineUnixMs, long FirstDueMs, long IdleMs) StreamBounds(RpcMethodDescriptor method, in RpcCallOptions options)
    {
        var nowUnix = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var now = TimerWheel.NowMs;
        var totalMs = MillisecondsLeft(options, nowUnix) ?? (long)_options.MaxStreamDuration.TotalMilliseconds;
        var timeoutMs = TimeoutMs(method, options);
        var idleMs = _options.StreamIdleTimeout is { } idle ? (long)idle.TotalMilliseconds : timeoutMs;
        return (now + totalMs, nowUnix + totalMs, now + Math.Min(timeoutMs, totalMs), idleMs);
    }

    /// <summary>
    /// The deadline a cancelled call names to its server, or 0 when a cancel must not reach the
    /// server: a call with <see cref="RpcCallOptions.MaxWait"/> only bounds how long this caller
    /// waits (the HTTP edge's <c>Prefer: wait</c>, whose token is the HTTP request's), and its work
    /// keeps its deadline.
    /// </summary>
    private static long RemoteCancelDeadline(in RpcCallOptions options, long deadlineUnixMs) =>
        options.MaxWait is null ? deadlineUnixMs : 0;

    /// <summary>
    /// Tells the servers that a call ended here before its server did (cancelled; a stream ended
    /// early), so its handler stops: through the store, off the caller's thread, bounded, best
    /// effort — if it is lost, the request's deadline still ends the handler.
    /// </summary>
    internal void CancelRemotely(PendingCall call, long requestDeadlineUnixMs)
    {
        if (_store is null || call.Method is not { } method)
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(
            static state => _ = state.client.CancelRemotelyAsync(state.service, state.id, state.deadline),
            (client: this, service: method.Service.ServiceName, id: call.Id, deadline: requestDeadlineUnixMs),
            preferLocal: false);
    }

    private async Task CancelRemotelyAsync(string service, CorrelationId id, long requestDeadlineUnixMs)
    {
        try
        {
            // The marker must outlive every delivery of the request: a server drops it unrun once
            // its deadline has passed. The grace period covers clocks that disagree.
            var remaining = Math.Max(0, requestDeadlineUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var ttl = TimeSpan.FromMilliseconds(remaining) + _options.OwnerGracePeriod + TimeSpan.FromSeconds(1);
            if (await _store!.CancelAsync(service, id, requestDeadlineUnixMs, ttl, CancellationToken.None).AsTask()
                .WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false))
            {
                RpcMetrics.CancelsSent.Add(1);
                Log.CancelSent(_logger, id, service);
            }
        }
        catch (Exception ex)
        {
            Log.CancelFailed(_logger, ex, id);
        }
    }

    private async ValueTask EnsureStartedAsync(CancellationToken cancellationToken)
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

    private async ValueTask OnReplyAsync(RpcReply reply, CancellationToken cancellationToken)
    {
        if (_pending.TryGetValue(reply.Id, out var call) && call.TryDeliver(reply))
        {
            RpcMetrics.RepliesDelivered.Add(1, new KeyValuePair<string, object?>("route", "direct"));
            return;
        }

        await HandleUnmatchedAsync(reply, call is null ? UnmatchedReason.UnknownCall : UnmatchedReason.CallEnded).ConfigureAwait(false);
    }

    private async ValueTask OnWakeUpAsync(CorrelationId id)
    {
        try
        {
            if (_watchers.TryGetValue(id, out var watcher))
            {
                watcher.TrySetResult();
            }

            if (_store is null || !_pending.TryGetValue(id, out var call) || call.IsTerminal)
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

    private async ValueTask HandleUnmatchedAsync(RpcReply reply, UnmatchedReason reason)
    {
        // A refused reuse of an idempotency key carries the key's id, but answers only the call
        // that reused it: stored or forwarded, it would stand for the first request's result.
        if (_store is not null && !(reply.Status == RpcStatusCode.FailedPrecondition && RpcIdempotency.IsKeyReused(reply.ToStatus())))
        {
            // A reply nobody here waits for exists only in this record: keep trying (bounded) to
            // store or forward it rather than drop it on one failed store operation.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var owner = await _store.GetOwnerAsync(reply.Id, CancellationToken.None).AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                    var forward = owner is not null && !string.Equals(owner.InstanceId, InstanceId, StringComparison.Ordinal);
                    if (forward && _replies is { ReceivesEveryReply: true })
                    {
                        // Broadcast routing: the owner reads this reply itself.
                        RpcMetrics.RepliesIgnored.Add(1);
                        return;
                    }

                    await _store.StoreReplyAsync(reply, _options.ResultTimeToLive, forward ? owner!.InstanceId : null, CancellationToken.None)
                        .AsTask().WaitAsync(_options.StoreOperationTimeout).ConfigureAwait(false);
                    if (forward)
                    {
                        RpcMetrics.RepliesForwarded.Add(1);
                        Log.ReplyForwarded(_logger, reply.Id, owner!.InstanceId);
                        return;
                    }

                    // "late": this instance owns the call but nobody waits any more (timed out, Pending);
                    // "unknown": no owner record (expired, or a stray reply).
                    RpcMetrics.RepliesStored.Add(1, new KeyValuePair<string, object?>("reason", owner is null ? "unknown" : "late"));

                    if (_watchers.TryGetValue(reply.Id, out var watcher))
                    {
                        watcher.TrySetResult();
                    }

                    Log.UnmatchedReply(_logger, reply.Id, reason);
                    break;
                }
                catch (Exception ex) when (attempt < 3 && !_stopped)
                {
                    Log.UnmatchedReplyFailed(_logger, ex, reply.Id);
                    await Task.Delay(100 * attempt).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.UnmatchedReplyFailed(_logger, ex, reply.Id);
                    break;
                }
            }
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

    private RpcResult<T> ToResult<T>(CorrelationId id, IReadOnlyList<RpcReply> replies)
    {
        var text = id.ToString();
        for (var i = 0; i < replies.Count; i++)
        {
            var reply = replies[i];
            if (reply.Status != RpcStatusCode.OK)
            {
                return RpcResult<T>.Failed(reply.ToStatus(), text);
            }

            if (reply.IsEnd && reply.HasValue)
            {
                try
                {
                    return RpcResult<T>.Completed(PayloadCodec.DecodeValue<T>(reply.Payload, _serializer, id), text);
                }
                catch (RpcException ex)
                {
                    return RpcResult<T>.Failed(ex.Status, text);
                }
            }

            if (reply.IsEnd)
            {
                return RpcResult<T>.Completed(default!, text);
            }
        }

        return RpcResult<T>.Pending(text);
    }

    private static RpcReply Unwrap(in CallResult completed, RpcMethodDescriptor method)
    {
        var outcome = completed.Outcome;
        switch (outcome.State)
        {
            case CallState.Completed when outcome.Status.StatusCode == RpcStatusCode.OK:
                var reply = outcome.Reply!;
                if (method.Kind == RpcMethodKind.Unary && !reply.HasValue)
                {
                    throw new RpcException(new RpcStatus(RpcStatusCode.DataLoss, "The reply carries no value."), completed.Id.ToString());
                }

                return reply;
            case CallState.Cancelled:
                throw new OperationCanceledException("The call was cancelled by the caller.", completed.CancelledBy);
            default:
                throw new RpcException(outcome.Status, completed.Id.ToString());
        }
    }

    private static void CheckKind(RpcMethodDescriptor method, RpcMethodKind kind)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Kind != kind)
        {
            throw new ArgumentException($"Method '{method.FullName}' is {method.Kind}, not {kind}.", nameof(method));
        }
    }

    private static CorrelationId ParseId(string correlationId)
    {
        ArgumentNullException.ThrowIfNull(correlationId);
        return CorrelationId.TryParse(correlationId, out var id)
            ? id
            : throw new ArgumentException($"'{correlationId}' is not a correlation id (32 hexadecimal digits).", nameof(correlationId));
    }

    private IRpcOwnershipStore RequireStore() =>
        _store ?? throw new InvalidOperationException("Fetching results by correlation id needs an ownership store (UseInMemoryOwnershipStore, AddRedis) with TypedRpc:EnableOwnership on.");
}
