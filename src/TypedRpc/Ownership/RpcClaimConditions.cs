using System;

namespace TypedRpc.Ownership;

/// <summary>What a claim checks besides who holds it, and what it records with it (see <see cref="IRpcClaimStore.TryClaimAsync(CorrelationId, string, TimeSpan, RpcClaimConditions, System.Threading.CancellationToken)"/>).</summary>
/// <param name="RequestDeadlineUnixMs">The request's deadline (unix ms): a cancel marker recorded for this deadline refuses the claim. 0: no check.</param>
/// <param name="Fingerprint">The request's fingerprint (idempotent calls), or <see langword="null"/>: a claim recorded with another fingerprint is a conflict.</param>
public readonly record struct RpcClaimConditions(long RequestDeadlineUnixMs, string? Fingerprint)
{
    /// <summary>
    /// The caller's owner record, written (for <see cref="OwnerTimeToLive"/>) in the same atomic step
    /// when the claim is <see cref="RpcClaimState.Claimed"/> and no record exists yet; <see langword="null"/>:
    /// none. Only a store whose <see cref="IRpcClaimStore.RecordsOwners"/> is <see langword="true"/> writes it.
    /// </summary>
    public RpcOwner? Owner { get; init; }

    /// <summary>How long the <see cref="Owner"/> record lives (positive when <see cref="Owner"/> is set).</summary>
    public TimeSpan OwnerTimeToLive { get; init; }
}
