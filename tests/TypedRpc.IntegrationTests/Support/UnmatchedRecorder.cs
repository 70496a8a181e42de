using System.Collections.Concurrent;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.IntegrationTests;

/// <summary>Keeps every reply the engine found no waiter for.</summary>
public sealed class UnmatchedRecorder : IUnmatchedReplyHandler
{
    public ConcurrentQueue<RpcReply> Replies { get; } = new();

    public ValueTask OnUnmatchedReplyAsync(RpcReply reply, UnmatchedReason reason)
    {
        Replies.Enqueue(reply);
        return ValueTask.CompletedTask;
    }
}
