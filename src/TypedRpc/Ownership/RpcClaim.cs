using System.Collections.Generic;
using TypedRpc.Transport;

namespace TypedRpc.Ownership;

/// <summary>What happened when a server instance tried to claim a request.</summary>
public enum RpcClaimState
{
    /// <summary>This instance now owns the request and must run it.</summary>
    Claimed,

    /// <summary>Another delivery of the request is running (or this one, delivered twice); do not run it.</summary>
    Running,

    /// <summary>The request already ran; its replies are in <see cref="RpcClaim.Replies"/> to send again.</summary>
    Completed,

    /// <summary>Its caller cancelled this request before it was claimed: do not run it.</summary>
    Cancelled,

    /// <summary>
    /// The request's id is claimed by a request with another fingerprint (its idempotency key was
    /// reused with different arguments): do not run it, answer <see cref="RpcStatusCode.FailedPrecondition"/>.
    /// </summary>
    Conflict,
}

/// <summary>The outcome of <see cref="IRpcClaimStore.TryClaimAsync(CorrelationId, string, System.TimeSpan, RpcClaimConditions, System.Threading.CancellationToken)"/>.</summary>
/// <param name="State">Claimed, running elsewhere, or completed.</param>
/// <param name="Holder">The instance holding the claim (for <see cref="RpcClaimState.Running"/>).</param>
/// <param name="Replies">The stored replies (for <see cref="RpcClaimState.Completed"/>); empty otherwise.</param>
public sealed record RpcClaim(RpcClaimState State, string? Holder, IReadOnlyList<RpcReply> Replies);
