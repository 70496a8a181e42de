using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using TypedRpc.Diagnostics;
using TypedRpc.Ownership;
using TypedRpc.Serialization;

namespace TypedRpc.Client;

/// <summary>
/// The calls waiting on this instance: the pending-call table, the one timing wheel for all their
/// deadlines, the in-flight slots (<see cref="TypedRpcOptions.MaxPendingCalls"/>), and what happens
/// when a call ends or its timer fires. The calls reach it through <see cref="ICallTable"/>.
/// </summary>
internal sealed class CallTable : ICallTable, IDisposable
{
    private readonly PendingTable _pending = new();
    private readonly TimerWheel _wheel = new();
    private readonly SemaphoreSlim _slots;
    private readonly IRpcOwnershipStore? _store;
    private readonly IRpcClaimStore? _claims;
    private readonly TypedRpcOptions _options;
    private readonly ILogger _logger;
    private TaskCompletionSource? _drained;
    private volatile bool _closed;

    /// <param name="store">The ownership store (checked at a deadline), or <see langword="null"/>.</param>
    /// <param name="claims">The claim store (told of cancels), or <see langword="null"/>.</param>
    /// <param name="serializer">Decodes replies.</param>
    /// <param name="options">Validated settings.</param>
    /// <param name="logger">The client's logger.</param>
    public CallTable(IRpcOwnershipStore? store, IRpcClaimStore? claims, IRpcSerializer serializer, TypedRpcOptions options, ILogger logger)
    {
        _store = store;
        _claims = claims;
        Serializer = serializer;
        _options = options;
        _logger = logger;
        _slots = new SemaphoreSlim(options.MaxPendingCalls, options.MaxPendingCalls);
    }

    /// <inheritdoc />
    public IRpcSerializer Serializer { get; }

    /// <summary>The number of waiting calls.</summary>
    public int Count => _pending.Count;

    /// <summary>Whether <see cref="Close"/> ran: a call added from then on fails at once.</summary>
    public bool IsClosed => _closed;

    /// <summary>The call waiting under <paramref name="id"/>, if any.</summary>
    public bool TryGetValue(CorrelationId id, out PendingCall call) => _pending.TryGetValue(id, out call);

    /// <summary>Takes an in-flight slot if one is free now.</summary>
    public bool TryTakeSlot() => _slots.Wait(0);

    /// <summary>Gives back a slot taken by <see cref="TryTakeSlot"/> for a call that was never made.</summary>
    public void ReturnSlot() => _slots.Release();

    /// <summary>
    /// Takes an in-flight slot for <paramref name="call"/>: at once, or — as
    /// <see cref="TypedRpcOptions.WhenPendingCallsFull"/> says — by waiting until
    /// <paramref name="deadlineMs"/>, or not at all (ResourceExhausted).
    /// </summary>
    public async ValueTask AcquireSlotAsync(PendingCall call, long deadlineMs, CancellationToken cancellationToken, CancellationToken optionsToken)
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

    /// <summary>Puts <paramref name="call"/> in the table and on the wheel at its due time, before anything is sent.</summary>
    /// <exception cref="RpcException">A call with its id (an idempotency key) is already in flight here (AlreadyExists).</exception>
    public void Add(PendingCall call)
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
        if (_closed)
        {
            call.TryEnd(CallState.Failed, new RpcStatus(RpcStatusCode.Unavailable, "The client is shutting down."));
        }
    }

    /// <summary>Sets <paramref name="call"/>'s timer to <paramref name="dueMs"/>, replacing any it had.</summary>
    public void Schedule(PendingCall call, long dueMs) => _wheel.Schedule(call, dueMs);

    /// <summary>Waits, at most <see cref="TypedRpcOptions.ShutdownDrainTimeout"/>, for the waiting calls to end; replies keep arriving meanwhile.</summary>
    /// <param name="cancellationToken">Ends the wait early.</param>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        // A call that ends before the drain signal exists is covered by the emptiness check after it is made.
        if (!_pending.IsEmpty && _options.ShutdownDrainTimeout > TimeSpan.Zero)
        {
            _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        if (_drained is not { } drained)
        {
            return;
        }

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
            // Those still waiting are failed by EndAll.
        }
    }

    /// <summary>Refuses calls from now on: one added later fails at once.</summary>
    public void Close() => _closed = true;

    /// <summary>Ends every waiting call with <paramref name="status"/> (Failed).</summary>
    public void EndAll(RpcStatus status)
    {
        foreach (var call in _pending.Snapshot())
        {
            call.TryEnd(CallState.Failed, status);
        }
    }

    /// <summary>Stops the wheel's thread.</summary>
    public void Dispose() => _wheel.Dispose();

    /// <inheritdoc />
    public void Release(PendingCall call)
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

    /// <inheritdoc />
    public void Rearm(PendingCall call, long dueMs) => _wheel.Schedule(call, dueMs);

    /// <inheritdoc />
    public void OnExpired(PendingCall call)
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
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.table.CheckStoreThenEndAsync(state.call), (table: this, call), preferLocal: false);
            return;
        }

        // Nothing to wait for: end the call here. What runs is short (the table, the wheel, the
        // slot; the caller's continuation is queued by the call), and a thread-pool hop per
        // deadline falls behind when 200,000 deadlines a second come due (waiters benchmark).
        EndAtDeadline(call);
    }

    /// <inheritdoc />
    /// <remarks>Through the claim store, off the caller's thread, bounded: if it is lost, the request's deadline still ends the handler.</remarks>
    public void CancelRemotely(PendingCall call, long requestDeadlineUnixMs)
    {
        if (_claims is null || call.Method is not { } method)
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(
            static state => _ = state.table.CancelRemotelyAsync(state.service, state.id, state.deadline),
            (table: this, service: method.Service.ServiceName, id: call.Id, deadline: requestDeadlineUnixMs),
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
            if (await _claims!.CancelAsync(service, id, requestDeadlineUnixMs, ttl, CancellationToken.None).AsTask()
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
}
