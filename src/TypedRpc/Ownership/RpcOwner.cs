namespace TypedRpc.Ownership;

/// <summary>Who waits for a call's reply: the caller instance and the address its replies reach.</summary>
/// <param name="InstanceId">The caller instance's id.</param>
/// <param name="ReplyAddress">The caller's reply address.</param>
public sealed record RpcOwner(string InstanceId, Transport.RpcReplyAddress ReplyAddress)
{
    /// <summary>
    /// The fingerprint of the request (<see cref="Transport.RpcRequest.Fingerprint"/>) when the call
    /// has an idempotency key: a later call with the key and another fingerprint is refused.
    /// </summary>
    public string? Fingerprint { get; init; }
}
