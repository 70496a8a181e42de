namespace TypedRpc.Ownership;

/// <summary>What a claim checks besides who holds it (see <see cref="IRpcClaimStore.TryClaimAsync(CorrelationId, string, System.TimeSpan, RpcClaimConditions, System.Threading.CancellationToken)"/>).</summary>
/// <param name="RequestDeadlineUnixMs">The request's deadline (unix ms): a cancel marker recorded for this deadline refuses the claim. 0: no check.</param>
/// <param name="Fingerprint">The request's fingerprint (idempotent calls), or <see langword="null"/>: a claim recorded with another fingerprint is a conflict.</param>
public readonly record struct RpcClaimConditions(long RequestDeadlineUnixMs, string? Fingerprint);
