using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.Server;

/// <summary>
/// A claim this server holds for one delivery: renewed by its <see cref="ClaimKeeper"/> while the
/// request runs, completed with the request's replies, or let go when the request did not complete here.
/// </summary>
/// <remarks>
/// The fence is what keeps a live holder and a taking-over delivery from running a request side
/// by side: the renewal loop fences a claim it could not confirm for most of its time to live (and
/// one a renewal found taken by another delivery), which cancels the handler's token. The token
/// source exists only once a handler asks for its token: most handlers never do, and they cost no
/// timer or token source per request.
/// </remarks>
internal sealed class HeldClaim(ClaimKeeper keeper, CorrelationId id, string holder, bool canFence)
{
    public const int Running = 0;
    public const int Completing = 1;
    public const int CompletionPending = 2;

    private readonly object _lock = new();
    private CancellationTokenSource? _fence;
    private volatile bool _fenced;
    private volatile bool _cancelledByCaller;
    private bool _released;
    private int _state;

    /// <summary>The request.</summary>
    public CorrelationId Id { get; } = id;

    /// <summary>The holder name of this delivery.</summary>
    public string Holder { get; } = holder;

    /// <summary>
    /// <see langword="false"/> for a request running without a claim (the store failed at claim
    /// time and <see cref="StoreFailureMode.SendWithoutOwnership"/> is set): renewal takes the claim
    /// when it can, and there is nothing to fence.
    /// </summary>
    public bool CanFence { get; } = canFence;

    /// <summary>Running, Completing (the call is storing its result) or CompletionPending (storing failed; the renewal loop retries).</summary>
    public int State
    {
        get => Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, value);
    }

    /// <summary>The deadline the request carries (unix ms): a cancellation names it, so that one of an earlier request under the same id does not stop this one.</summary>
    public long RequestDeadlineUnixMs { get; init; }

    /// <summary>Whether the claim wrote the caller's owner record: every reply says so (<see cref="RpcReply.OwnerRecorded"/>).</summary>
    public bool OwnerRecorded { get; set; }

    /// <summary>Set when a renewal found another holder on the claim.</summary>
    public volatile bool Lost;

    /// <summary>When the claim was last confirmed (a Stopwatch timestamp taken before the confirming request was sent).</summary>
    public long ConfirmedAt;

    /// <summary>The replies to store, while <see cref="State"/> is CompletionPending.</summary>
    public IReadOnlyList<RpcReply>? Replies;

    /// <summary>When to stop retrying the completion (a Stopwatch timestamp).</summary>
    public long GiveUpAt;

    /// <summary>Whether the claim was fenced (the handler's token, if it asked for one, is cancelled).</summary>
    public bool Fenced => _fenced;

    /// <summary>Whether the request's caller cancelled it while it ran (the handler's token, if it asked for one, is cancelled).</summary>
    public bool CancelledByCaller => _cancelledByCaller;

    /// <summary>Cancelled when the claim is fenced or the caller cancels the request.</summary>
    public CancellationToken FenceToken
    {
        get
        {
            lock (_lock)
            {
                if (_released)
                {
                    return default;
                }

                if (_fence is null)
                {
                    _fence = new CancellationTokenSource();
                    if (_fenced || _cancelledByCaller)
                    {
                        _fence.Cancel();
                    }
                }

                return _fence.Token;
            }
        }
    }

    /// <summary>Fences the claim: the handler's token is cancelled (its callbacks run on the thread pool, not here).</summary>
    public void Fence()
    {
        CancellationTokenSource? fence;
        lock (_lock)
        {
            if (_fenced || !CanFence)
            {
                return;
            }

            _fenced = true;
            fence = _fence;
        }

        _ = fence?.CancelAsync();
    }

    /// <summary>The caller cancelled the request: the handler's token is cancelled (its callbacks run on the thread pool, not here).</summary>
    public void CancelByCaller()
    {
        CancellationTokenSource? source;
        lock (_lock)
        {
            if (_cancelledByCaller || _released)
            {
                return;
            }

            _cancelledByCaller = true;
            source = _fence;
        }

        _ = source?.CancelAsync();
    }

    /// <summary>
    /// Stores the replies with the claim, so that a redelivery re-sends them; called as the final
    /// reply is sent. Never throws: when the store fails, the claim stays held and renewed, and its
    /// keeper retries storing the result.
    /// </summary>
    public ValueTask CompleteAsync(IReadOnlyList<RpcReply> replies) => keeper.CompleteAsync(this, replies);

    /// <summary>Drops the claim here and in the store, so that another delivery may run the request. Never throws.</summary>
    public Task LetGoAsync() => keeper.LetGoAsync(this);

    /// <summary>The run under the claim is over: stops holding it (unless storing its result is still to be retried) and frees the token source.</summary>
    public void EndRun()
    {
        keeper.EndRun(this);
        lock (_lock)
        {
            _fence?.Dispose();
            _fence = null;
            _released = true;
        }
    }
}
