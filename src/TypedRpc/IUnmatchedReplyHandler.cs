using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc;

/// <summary>Why a reply found no waiter.</summary>
public enum UnmatchedReason
{
    /// <summary>No call with this id is pending on this instance (it timed out, or was made elsewhere).</summary>
    UnknownCall,

    /// <summary>The call had already ended (a duplicate, or a reply after the timeout or cancellation).</summary>
    CallEnded,
}

/// <summary>
/// Receives every reply no waiter accepted (a late reply, or one for a call this instance no longer
/// waits on). The reply
/// is also kept in the ownership store (when there is one) so it can be fetched by id.
/// </summary>
public interface IUnmatchedReplyHandler
{
    /// <summary>Handles one unmatched reply; exceptions are logged and ignored.</summary>
    /// <param name="reply">The reply message.</param>
    /// <param name="reason">Why it found no waiter.</param>
    /// <returns>A task that completes when handled.</returns>
    ValueTask OnUnmatchedReplyAsync(RpcReply reply, UnmatchedReason reason);
}
