using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;
using TypedRpc.Diagnostics;
using TypedRpc.Transport;

namespace TypedRpc.Client;

/// <summary>
/// A call answered by one reply message: WaitingFirst → Completed | TimedOut | Cancelled | Failed.
/// It is its own awaitable (an <see cref="IValueTaskSource{TResult}"/> awaited once), so a waiting
/// call costs this object and its table entry — no task, no async state machine.
/// </summary>
internal class UnaryCall : PendingCall, IValueTaskSource<CallOutcome>
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private TaskCompletionSource<CallOutcome>? _joiners;
    private CallOutcome _outcome;
    private int _ended;

    public UnaryCall(RpcClient client, CorrelationId id, RpcMethodDescriptor? method, long deadlineMs)
        : base(client, id, method, deadlineMs)
    {
    }

    /// <summary>
    /// When set (a call started without an async frame around it), the call records its metrics and
    /// ends its span itself when it ends: nobody else is left to do it. A Stopwatch timestamp.
    /// </summary>
    public long RecordFrom;

    /// <summary>The client span ended with the call, when <see cref="RecordFrom"/> is set.</summary>
    public Activity? Span;

    /// <summary>The outcome; valid once the call has ended.</summary>
    public CallOutcome Outcome => _outcome;

    /// <summary>Completes with the outcome (never faults: failures are outcomes too). Awaited once, by the call's own caller.</summary>
    public ValueTask<CallOutcome> Completion => new(this, _core.Version);

    /// <summary>The outcome for a second caller joining the call (an idempotent retry on the same instance).</summary>
    public Task<CallOutcome> JoinAsync()
    {
        if (Volatile.Read(ref _ended) != 0)
        {
            return Task.FromResult(_outcome);
        }

        var joiners = Interlocked.CompareExchange(ref _joiners, new TaskCompletionSource<CallOutcome>(TaskCreationOptions.RunContinuationsAsynchronously), null) ?? _joiners!;
        if (Volatile.Read(ref _ended) != 0)
        {
            // Ended while the source was made: Complete may have missed it.
            joiners.TrySetResult(_outcome);
        }

        return joiners.Task;
    }

    public override bool TryDeliver(RpcReply reply)
    {
        // A unary call takes the first message it is offered; a second one (a duplicate, or a
        // misbehaving server) is refused and goes on as unmatched.
        if (!TryFinish(CallState.Completed))
        {
            return false;
        }

        Complete(new CallOutcome(CallState.Completed, reply, reply.ToStatus()));
        return true;
    }

    public override bool TryEnd(CallState state, RpcStatus status)
    {
        if (!TryFinish(state))
        {
            return false;
        }

        Complete(new CallOutcome(state, null, status));
        return true;
    }

    private void Complete(CallOutcome outcome)
    {
        _outcome = outcome;
        if (RecordFrom != 0 && Method is { } method)
        {
            RpcMetrics.RecordClient(method, outcome.Status.StatusCode, RecordFrom);
            if (Span is { } span)
            {
                // Stopping a span makes its parent current on this thread (a reply consumer's or the
                // timer wheel's): put back what was there.
                var current = Activity.Current;
                RpcTracing.End(span, outcome.Status.StatusCode);
                Activity.Current = current;
            }
        }

        Volatile.Write(ref _ended, 1);
        Volatile.Read(ref _joiners)?.TrySetResult(outcome);
        _core.SetResult(true);
    }

    ValueTaskSourceStatus IValueTaskSource<CallOutcome>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<CallOutcome>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    CallOutcome IValueTaskSource<CallOutcome>.GetResult(short token)
    {
        _core.GetResult(token);
        return _outcome;
    }

    protected ValueTaskSourceStatus CoreStatus(short token) => _core.GetStatus(token);

    protected void CoreOnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    protected void CoreGetResult(short token) => _core.GetResult(token);

    protected short Version => _core.Version;
}

/// <summary>
/// A unary call awaited directly as the caller's result: the outcome is turned into
/// <typeparamref name="TOut"/> (decoded, or thrown as an <see cref="RpcException"/>) when the caller
/// reads it, on the caller's continuation.
/// </summary>
internal sealed class UnaryCall<TOut> : UnaryCall, IValueTaskSource<TOut>, IValueTaskSource
{
    private readonly Func<UnaryCall, TOut> _result;

    public UnaryCall(RpcClient client, CorrelationId id, RpcMethodDescriptor method, long deadlineMs, Func<UnaryCall, TOut> result)
        : base(client, id, method, deadlineMs) => _result = result;

    /// <summary>The caller's awaitable.</summary>
    public ValueTask<TOut> Result => new(this, Version);

    /// <summary>The caller's awaitable, for a method without a result.</summary>
    public ValueTask Done => new(this, Version);

    ValueTaskSourceStatus IValueTaskSource<TOut>.GetStatus(short token) => CoreStatus(token);

    void IValueTaskSource<TOut>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        CoreOnCompleted(continuation, state, token, flags);

    TOut IValueTaskSource<TOut>.GetResult(short token)
    {
        CoreGetResult(token);
        return _result(this);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => CoreStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        CoreOnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token)
    {
        CoreGetResult(token);
        _result(this);
    }
}

/// <summary>How a unary call ended: the reply when one arrived, or the local status.</summary>
/// <param name="State">The terminal state.</param>
/// <param name="Reply">The reply, when <paramref name="State"/> is Completed.</param>
/// <param name="Status">The reply's status, or the local one.</param>
internal readonly record struct CallOutcome(CallState State, RpcReply? Reply, RpcStatus Status);
