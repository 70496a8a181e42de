using System;
using System.Collections.Generic;
using System.Threading;
using TypedRpc.Transport;

namespace TypedRpc.Server;

/// <summary>A claim this server holds: renewed while its request runs, completed when it ends.</summary>
/// <remarks>
/// The fence is what keeps a live holder and a taking-over delivery from running a request side
/// by side. The store lets a claim expire <see cref="TypedRpcOptions.ClaimTimeToLive"/> after the
/// last renewal reached it, so the holder cancels its handler a margin earlier unless a renewal is
/// confirmed in time (and at once when a renewal reports the claim taken by another delivery).
/// </remarks>
internal sealed class HeldClaim(CorrelationId id, string holder, CancellationTokenSource? fence)
{
    public const int Running = 0;
    public const int Completing = 1;
    public const int CompletionPending = 2;

    private int _state;

    /// <summary>The request.</summary>
    public CorrelationId Id { get; } = id;

    /// <summary>The holder name of this delivery.</summary>
    public string Holder { get; } = holder;

    /// <summary>
    /// Cancelled when the claim is lost or could not be confirmed before it may expire; <see
    /// langword="null"/> for a request running without a claim (the store failed at claim time and
    /// <see cref="StoreFailureMode.SendWithoutOwnership"/> is set), which renewal takes when it can.
    /// </summary>
    public CancellationTokenSource? Fence { get; } = fence;

    /// <summary>Running, Completing (the call is storing its result) or CompletionPending (storing failed; the renewal loop retries).</summary>
    public int State
    {
        get => Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, value);
    }

    /// <summary>Set when a renewal found another holder on the claim.</summary>
    public volatile bool Lost;

    /// <summary>When the claim was last confirmed (a Stopwatch timestamp taken before the confirming request was sent).</summary>
    public long ConfirmedAt;

    /// <summary>The replies to store, while <see cref="State"/> is CompletionPending.</summary>
    public IReadOnlyList<RpcReply>? Replies;

    /// <summary>When to stop retrying the completion (a Stopwatch timestamp).</summary>
    public long GiveUpAt;

    /// <summary>Whether the fence fired.</summary>
    public bool Fenced => Fence is { IsCancellationRequested: true };
}
