namespace TypedRpc.Ownership;

/// <summary>Who waits for a call's reply: the caller instance and the address its replies reach.</summary>
/// <param name="InstanceId">The caller instance's id.</param>
/// <param name="ReplyAddress">The caller's reply address.</param>
public sealed record RpcOwner(string InstanceId, Transport.RpcReplyAddress ReplyAddress);
