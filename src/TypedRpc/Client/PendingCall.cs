using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.Client;

/// <summary>
/// A call waiting for its reply: an entry of the pending-call table and of the timer wheel. The
/// state moves once, atomically, from waiting to a terminal state; everything that ends a call
/// (reply, deadline, cancellation, failure, shutdown) goes through <see cref="TryFinish"/>, so
/// the table entry, the timer, the cancellation registrations and the in-flight slot are released
/// exactly once.
/// </summary>
internal abstract class PendingCall : TimerWheel.Entry
{
    private int _state;

    // What few calls need (cancellable tokens, MaxWait, joiners, a span) lives in a side object
    // made on first use: a waiting call is kept as small as it can be — a million of them wait at
    // once in the waiters benchmark.
    private CallExtras? _extras;

    protected PendingCall(ICallTable table, CorrelationId id, RpcMethodDescriptor? method, long deadlineMs)
    {
        Table = table;
        Id = id;
        Method = method;
        DeadlineMs = deadlineMs;
    }

    /// <summary>How a call ends when its deadline passes without a reply.</summary>
    public static readonly RpcStatus DeadlineStatus = new(RpcStatusCode.DeadlineExceeded, "No reply arrived before the deadline.");

    /// <summary>The table the call waits in.</summary>
    public ICallTable Table { get; }

    public CorrelationId Id { get; }

    /// <summary>The correlation id, formatted: a pending <see cref="RpcResult{T}"/> reads it through this (see <c>RpcResult.PendingFor</c>).</summary>
    /// <returns>The call's correlation id as text.</returns>
    public sealed override string ToString() => Id.ToString();

    /// <summary>The method, or <see langword="null"/> for a result watcher.</summary>
    public RpcMethodDescriptor? Method { get; }

    /// <summary>The deadline on the <see cref="TimerWheel.NowMs"/> clock.</summary>
    public long DeadlineMs { get; set; }

    /// <summary>When the call's timer fires while it waits for a reply: its deadline (a stream's may be sooner).</summary>
    public virtual long WaitDueMs => DeadlineMs;

    public volatile CallPhase Phase;

    /// <summary>
    /// When this caller stops waiting (<see cref="RpcCallOptions.MaxWait"/>), if before
    /// <see cref="DeadlineMs"/>; otherwise <see cref="long.MaxValue"/>. Armed once the request is sent.
    /// </summary>
    public long WaitUntilMs
    {
        get => Volatile.Read(ref _extras)?.WaitUntilMs ?? long.MaxValue;
        set => Extras.WaitUntilMs = value;
    }

    /// <summary>Whether the one-time <c>ExtendByMs</c> extension was used.</summary>
    public bool Extended;

    /// <summary>Whether the call holds an in-flight slot to give back.</summary>
    public bool HoldsSlot;

    /// <summary>Whether the call's request asked the server's claim to write its owner record (<see cref="RpcRequest.OwnerRecordUntilUnixMs"/>): its first reply tells whether it did.</summary>
    public bool AskedServerForOwner;

    public CallState State => (CallState)Volatile.Read(ref _state);

    public bool IsTerminal => Volatile.Read(ref _state) >= (int)CallState.Completed;

    /// <summary>The token that cancelled the call, for the exception the caller sees.</summary>
    public CancellationToken CancelledBy => Volatile.Read(ref _extras)?.By ?? default;

    /// <summary>The side object if it was made.</summary>
    protected CallExtras? ExistingExtras => Volatile.Read(ref _extras);

    /// <summary>The side object, made on first use (by whichever thread comes first).</summary>
    protected CallExtras Extras => Volatile.Read(ref _extras) ?? Interlocked.CompareExchange(ref _extras, new CallExtras(), null) ?? _extras!;

    /// <summary>Offers a reply message; <see langword="false"/> when the call refuses it (already ended).</summary>
    public abstract bool TryDeliver(RpcReply reply);

    /// <summary>Ends the call locally with <paramref name="status"/> (timeout, failure, shutdown).</summary>
    public abstract bool TryEnd(CallState state, RpcStatus status);

    /// <summary>Ends the call because its deadline passed without a reply.</summary>
    public virtual bool TryEndAtDeadline() => TryEnd(CallState.TimedOut, DeadlineStatus);

    /// <summary>
    /// The deadline the call's request carries (unix ms), kept for a call that can end before its
    /// server does (a cancellable token, a stream): a cancel names it. 0 when not kept.
    /// </summary>
    public long RequestDeadlineUnixMs => Volatile.Read(ref _extras)?.RequestDeadlineUnixMs ?? 0;

    /// <summary>The request's fingerprint, for a call with an idempotency key (see <see cref="Transport.RpcRequest.Fingerprint"/>); otherwise <see langword="null"/>.</summary>
    public string? Fingerprint
    {
        get => Volatile.Read(ref _extras)?.Fingerprint;
        set => Extras.Fingerprint = value;
    }

    /// <summary>Keeps the request's deadline for a cancel (see <see cref="RequestDeadlineUnixMs"/>).</summary>
    public void KeepRequestDeadline(long deadlineUnixMs) => Extras.RequestDeadlineUnixMs = deadlineUnixMs;

    /// <summary>Whether ending in <paramref name="terminal"/> leaves the server working for nobody, so it is told to stop.</summary>
    protected virtual bool EndsServerWork(CallState terminal) => terminal == CallState.Cancelled;

    public void RegisterCancellation(CancellationToken callerToken, CancellationToken optionsToken, long requestDeadlineUnixMs)
    {
        var options = optionsToken.CanBeCanceled && optionsToken != callerToken;
        if (!callerToken.CanBeCanceled && !options)
        {
            return;
        }

        // Made before registering: a token cancelled already runs the callback at once.
        var extras = Extras;
        extras.RequestDeadlineUnixMs = requestDeadlineUnixMs;
        if (callerToken.CanBeCanceled)
        {
            extras.Caller = callerToken.UnsafeRegister(static (state, token) => ((PendingCall)state!).OnCancelled(token), this);
        }

        if (options)
        {
            extras.Options = optionsToken.UnsafeRegister(static (state, token) => ((PendingCall)state!).OnCancelled(token), this);
        }

        if (IsTerminal)
        {
            // Ended while registering (or by the registration itself): TryFinish may have run
            // before the registrations were stored.
            extras.DisposeRegistrations();
        }
    }

    public override void OnExpired() => Table.OnExpired(this);

    /// <summary>Moves from a waiting state to <paramref name="terminal"/>; only the first caller wins.</summary>
    protected bool TryFinish(CallState terminal)
    {
        while (true)
        {
            var current = Volatile.Read(ref _state);
            if (current >= (int)CallState.Completed)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _state, (int)terminal, current) == current)
            {
                Table.Release(this);
                var extras = Volatile.Read(ref _extras);
                // Disposing a registration from inside its own callback is safe: it does not wait for itself.
                extras?.DisposeRegistrations();
                if (extras is { RequestDeadlineUnixMs: not 0 } && EndsServerWork(terminal))
                {
                    Table.CancelRemotely(this, extras.RequestDeadlineUnixMs);
                }

                return true;
            }
        }
    }

    /// <summary>Moves WaitingFirst → WaitingNext (streams).</summary>
    protected void MarkWaitingNext() =>
        Interlocked.CompareExchange(ref _state, (int)CallState.WaitingNext, (int)CallState.WaitingFirst);

    private void OnCancelled(CancellationToken token)
    {
        Extras.By = token;
        TryEnd(CallState.Cancelled, new RpcStatus(RpcStatusCode.Cancelled, "The call was cancelled by the caller."));
    }

    /// <summary>The parts of a call that few calls need.</summary>
    protected sealed class CallExtras
    {
        public CancellationTokenRegistration Caller;
        public CancellationTokenRegistration Options;
        public CancellationToken By;
        public long WaitUntilMs = long.MaxValue;
        public long RequestDeadlineUnixMs;
        public string? Fingerprint;

        /// <summary>Second callers of an idempotent call in flight on this instance.</summary>
        public TaskCompletionSource<CallOutcome>? Joiners;

        /// <summary>The client span a call started without an async frame ends itself.</summary>
        public Activity? Span;

        public void DisposeRegistrations()
        {
            Caller.Dispose();
            Options.Dispose();
        }
    }
}
