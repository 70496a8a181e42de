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
internal class UnaryCall : PendingCall, IValueTaskSource<CallOutcome>, IThreadPoolWorkItem
{
    // The reply the call completed with, or a LocalEnd: null while waiting. One reference rather
    // than the whole outcome (state, reply, status) — the state is the call's own.
    private object? _end;
    private OneShotCompletion _core;

    public UnaryCall(ICallTable table, CorrelationId id, RpcMethodDescriptor? method, long deadlineMs)
        : base(table, id, method, deadlineMs)
    {
    }

    /// <summary>
    /// When set (a call started without an async frame around it), the call records its metrics and
    /// ends its span itself when it ends: nobody else is left to do it. A Stopwatch timestamp.
    /// </summary>
    public long RecordFrom;

    /// <summary>Gives the call its client span to end when it ends (with <see cref="RecordFrom"/>).</summary>
    public void SetSpan(Activity span) => Extras.Span = span;

    /// <summary>The outcome; valid once the call has ended.</summary>
    public CallOutcome Outcome => Volatile.Read(ref _end) switch
    {
        RpcReply reply => new CallOutcome(State, reply, reply.ToStatus()),
        LocalEnd local => new CallOutcome(State, null, local.Status),
        _ => default,
    };

    /// <summary>Completes with the outcome (never faults: failures are outcomes too). Awaited once, by the call's own caller.</summary>
    public ValueTask<CallOutcome> Completion => new(this, 0);

    /// <summary>The outcome for a second caller joining the call (an idempotent retry on the same instance).</summary>
    public Task<CallOutcome> JoinAsync()
    {
        if (Volatile.Read(ref _end) is not null)
        {
            return Task.FromResult(Outcome);
        }

        var extras = Extras;
        var joiners = Interlocked.CompareExchange(ref extras.Joiners, new TaskCompletionSource<CallOutcome>(TaskCreationOptions.RunContinuationsAsynchronously), null) ?? extras.Joiners!;
        if (Volatile.Read(ref _end) is not null)
        {
            // Ended while the source was made: Complete may have missed it.
            joiners.TrySetResult(Outcome);
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

        Complete(reply, reply.Status);
        return true;
    }

    public override bool TryEnd(CallState state, RpcStatus status) => End(state, null, status);

    /// <inheritdoc />
    /// <remarks>Every call that times out ends with the same status: one shared <see cref="LocalEnd"/> (a million waiting calls may end so).</remarks>
    public override bool TryEndAtDeadline() => End(CallState.TimedOut, LocalEnd.Deadline, LocalEnd.Deadline.Status);

    // A shared end when given; otherwise one made for the status, once the call is known to end here.
    private bool End(CallState state, LocalEnd? shared, RpcStatus status)
    {
        if (!TryFinish(state))
        {
            return false;
        }

        Complete(shared ?? new LocalEnd(status), status.StatusCode);
        return true;
    }

    private void Complete(object end, RpcStatusCode code)
    {
        // A full fence, not just a release: a joiner publishes itself and then reads _end, while
        // this publishes _end and then reads the joiners — one of the two must see the other.
        Interlocked.Exchange(ref _end, end);
        var extras = ExistingExtras;
        if (RecordFrom != 0 && Method is { } method)
        {
            RpcMetrics.RecordClient(method, code, RecordFrom);
            if (extras?.Span is { } span)
            {
                // Stopping a span makes its parent current on this thread (a reply consumer's or the
                // timer wheel's): put back what was there.
                var current = Activity.Current;
                RpcTracing.End(span, code);
                Activity.Current = current;
            }
        }

        if (extras is not null && Volatile.Read(ref extras.Joiners) is { } joiners)
        {
            joiners.TrySetResult(Outcome);
        }

        _core.Complete(this);
    }

    /// <summary>Runs the caller's continuation on the thread pool once the call has ended (queued by <see cref="OneShotCompletion.Complete"/>).</summary>
    void IThreadPoolWorkItem.Execute() => _core.RunContinuation();

    ValueTaskSourceStatus IValueTaskSource<CallOutcome>.GetStatus(short token) => CoreStatus();

    void IValueTaskSource<CallOutcome>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        CoreOnCompleted(continuation, state, flags);

    CallOutcome IValueTaskSource<CallOutcome>.GetResult(short token)
    {
        CoreGetResult();
        return Outcome;
    }

    protected ValueTaskSourceStatus CoreStatus() => _core.Status;

    protected void CoreOnCompleted(Action<object?> continuation, object? state, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, flags);

    protected void CoreGetResult() => _core.EnsureCompleted();
}

/// <summary>
/// A unary call awaited directly as the caller's result: the outcome is turned into
/// <typeparamref name="TOut"/> (decoded, or thrown as an <see cref="RpcException"/>) when the caller
/// reads it, on the caller's continuation.
/// </summary>
internal abstract class UnaryCall<TOut> : UnaryCall, IValueTaskSource<TOut>, IValueTaskSource
{
    protected UnaryCall(ICallTable table, CorrelationId id, RpcMethodDescriptor method, long deadlineMs)
        : base(table, id, method, deadlineMs)
    {
    }

    /// <summary>The caller's awaitable.</summary>
    public ValueTask<TOut> Result => new(this, 0);

    /// <summary>The caller's awaitable, for a method without a result.</summary>
    public ValueTask Done => new(this, 0);

    ValueTaskSourceStatus IValueTaskSource<TOut>.GetStatus(short token) => CoreStatus();

    void IValueTaskSource<TOut>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        CoreOnCompleted(continuation, state, flags);

    TOut IValueTaskSource<TOut>.GetResult(short token)
    {
        CoreGetResult();
        return Produce();
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => CoreStatus();

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        CoreOnCompleted(continuation, state, flags);

    void IValueTaskSource.GetResult(short token)
    {
        CoreGetResult();
        Produce();
    }

    /// <summary>Turns the outcome into what the caller gets (decoded, or thrown), on the caller's continuation.</summary>
    protected abstract TOut Produce();
}

/// <summary>How a unary call ended without a reply (timeout, failure, cancellation, shutdown).</summary>
internal sealed class LocalEnd(RpcStatus status)
{
    /// <summary>The deadline's end, which a million waiting calls may share.</summary>
    public static readonly LocalEnd Deadline = new(PendingCall.DeadlineStatus);

    public RpcStatus Status { get; } = status;
}

/// <summary>How a unary call ended: the reply when one arrived, or the local status.</summary>
/// <param name="State">The terminal state.</param>
/// <param name="Reply">The reply, when <paramref name="State"/> is Completed.</param>
/// <param name="Status">The reply's status, or the local one.</param>
internal readonly record struct CallOutcome(CallState State, RpcReply? Reply, RpcStatus Status);
