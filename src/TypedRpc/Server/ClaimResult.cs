using System.Collections.Generic;
using TypedRpc.Transport;

namespace TypedRpc.Server;

/// <summary>The outcome of claiming a request for one delivery.</summary>
/// <param name="Verdict">What the delivery does next.</param>
/// <param name="Held">The claim to run under, for <see cref="ClaimVerdict.Run"/>.</param>
/// <param name="Replies">The stored replies to re-send, for <see cref="ClaimVerdict.Completed"/>.</param>
internal readonly record struct ClaimResult(ClaimVerdict Verdict, HeldClaim? Held = null, IReadOnlyList<RpcReply>? Replies = null);
