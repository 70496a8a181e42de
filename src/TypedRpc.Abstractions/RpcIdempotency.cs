namespace TypedRpc;

/// <summary>
/// The rule for idempotency keys (<see cref="RpcCallOptions.WithIdempotencyKey"/>): a key names one
/// request to one method. A call reusing it with the same arguments joins or is answered by the
/// first call; a call reusing it with other arguments fails <see cref="RpcStatusCode.FailedPrecondition"/>
/// with <see cref="KeyReusedDetail"/>, without running. Keys are scoped per service and method, so
/// two methods may use the same key string.
/// </summary>
public static class RpcIdempotency
{
    /// <summary>The detail of the status a reused key fails with.</summary>
    public const string KeyReusedDetail = "The idempotency key was already used for a different request to this method (other arguments).";

    /// <summary>The status a call fails with when its idempotency key was used for a different request.</summary>
    public static RpcStatus KeyReusedStatus { get; } = new(RpcStatusCode.FailedPrecondition, KeyReusedDetail);

    /// <summary>Whether <paramref name="status"/> says that an idempotency key was reused for a different request.</summary>
    /// <param name="status">A call's status.</param>
    /// <returns><see langword="true"/> for <see cref="KeyReusedStatus"/>.</returns>
    public static bool IsKeyReused(RpcStatus status) =>
        status.StatusCode == RpcStatusCode.FailedPrecondition && status.Detail == KeyReusedDetail;
}
