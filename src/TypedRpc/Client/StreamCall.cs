using System.Collections.Generic;
using System.Threading.Channels;
using TypedRpc.Transport;

namespace TypedRpc.Client;

/// <summary>
/// A call answered by several messages: WaitingFirst → WaitingNext → Completed, or TimedOut,
/// Cancelled, Failed. Messages are released to the reader in sequence order: a duplicate (a
/// sequence already passed) is dropped; a message that arrives early waits in a small buffer
/// until the gap before it fills (bounded: too many early messages fail the call with DataLoss).
/// </summary>
internal sealed class StreamCall : PendingCall
{
    /// <summary>How many out-of-order messages may wait for a gap to fill.</summary>
    public const int MaxBufferedOutOfOrder = 1024;

    private readonly Channel<RpcReply> _messages = Channel.CreateUnbounded<RpcReply>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly SortedList<int, RpcReply> _early = new();
    private readonly object _lock = new();
    private int _nextSequence;

    public StreamCall(RpcClient client, CorrelationId id, RpcMethodDescriptor method, long deadlineMs, long idleTimeoutMs)
        : base(client, id, method, deadlineMs)
    {
        IdleTimeoutMs = idleTimeoutMs;
    }

    public long IdleTimeoutMs { get; }

    public ChannelReader<RpcReply> Messages => _messages.Reader;

    /// <summary>Duplicates dropped so far.</summary>
    public int Duplicates { get; private set; }

    /// <summary>The local status the call ended with, when it did not end with the server's end message.</summary>
    public RpcStatus? LocalEnd { get; private set; }

    public override bool TryDeliver(RpcReply reply)
    {
        lock (_lock)
        {
            if (IsTerminal)
            {
                return false;
            }

            if (reply.Sequence < _nextSequence || _early.ContainsKey(reply.Sequence))
            {
                Duplicates++;
                return true;
            }

            if (reply.Sequence > _nextSequence)
            {
                if (_early.Count >= MaxBufferedOutOfOrder)
                {
                    EndLocked(CallState.Failed, new RpcStatus(RpcStatusCode.DataLoss, $"Stream message {_nextSequence} never arrived; {_early.Count} later messages are waiting."));
                    return true;
                }

                _early.Add(reply.Sequence, reply);
                return true;
            }

            Release(reply);
            while (!IsTerminal && _early.Count > 0 && _early.Keys[0] == _nextSequence)
            {
                var next = _early.Values[0];
                _early.RemoveAt(0);
                Release(next);
            }

            return true;
        }
    }

    public override bool TryEnd(CallState state, RpcStatus status)
    {
        lock (_lock)
        {
            return EndLocked(state, status);
        }
    }

    private void Release(RpcReply reply)
    {
        _nextSequence = reply.Sequence + 1;
        if (reply.IsEnd || reply.Status != RpcStatusCode.OK)
        {
            if (TryFinish(CallState.Completed))
            {
                _messages.Writer.TryWrite(reply);
                _messages.Writer.TryComplete();
            }

            return;
        }

        MarkWaitingNext();
        _messages.Writer.TryWrite(reply);
        // Each message restarts the idle timeout.
        Client.Rearm(this, TimerWheel.NowMs + IdleTimeoutMs);
    }

    private bool EndLocked(CallState state, RpcStatus status)
    {
        if (!TryFinish(state))
        {
            return false;
        }

        LocalEnd = status;
        _messages.Writer.TryComplete();
        return true;
    }
}
