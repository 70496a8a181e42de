using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.Client;

/// <summary>A call answered by one reply message: WaitingFirst → Completed | TimedOut | Cancelled | Failed.</summary>
internal sealed class UnaryCall : PendingCall
{
    private readonly TaskCompletionSource<CallOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public UnaryCall(RpcClient client, CorrelationId id, RpcMethodDescriptor? method, long deadlineMs)
        : base(client, id, method, deadlineMs)
    {
    }

    /// <summary>Completes with the outcome; never faults (failures are outcomes too).</summary>
    public Task<CallOutcome> Completion => _completion.Task;

    public override bool TryDeliver(RpcReply reply)
    {
        // A unary call takes the first message it is offered; a second one (a duplicate, or a
        // misbehaving server) is refused and goes on as unmatched.
        if (!TryFinish(CallState.Completed))
        {
            return false;
        }

        _completion.TrySetResult(new CallOutcome(CallState.Completed, reply, reply.ToStatus()));
        return true;
    }

    public override bool TryEnd(CallState state, RpcStatus status)
    {
        if (!TryFinish(state))
        {
            return false;
        }

        _completion.TrySetResult(new CallOutcome(state, null, status));
        return true;
    }
}

/// <summary>How a unary call ended: the reply when one arrived, or the local status.</summary>
/// <param name="State">The terminal state.</param>
/// <param name="Reply">The reply, when <paramref name="State"/> is Completed.</param>
/// <param name="Status">The reply's status, or the local one.</param>
internal readonly record struct CallOutcome(CallState State, RpcReply? Reply, RpcStatus Status);
