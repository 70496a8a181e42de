using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using TypedRpc.Transport;

namespace TypedRpc.Client;

/// <summary>
/// A call answered by several messages: WaitingFirst → WaitingNext → Completed, or TimedOut,
/// Cancelled, Failed. Messages are released to the reader in sequence order: a duplicate (a
/// sequence already passed) is dropped; a message that arrives early waits in a small buffer
/// until the gap before it fills (bounded: too many early messages fail the call with DataLoss).
/// Three bounds: the first message must come by <see cref="FirstDueMs"/>, each later one within
/// <see cref="IdleTimeoutMs"/> of the one before, and the whole stream ends by
/// <see cref="PendingCall.DeadlineMs"/> (the deadline its request carries).
/// </summary>
internal sealed class StreamCall : PendingCall
{
    /// <summary>How many out-of-order messages may wait for a gap to fill.</summary>
    public const int MaxBufferedOutOfOrder = 1024;

    private readonly Channel<RpcReply> _messages = Channel.CreateUnbounded<RpcReply>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly SortedList<int, RpcReply> _early = new();
    private readonly object _lock = new();
    private int _nextSequence;

    private long _lastMessageMs;

    public StreamCall(ICallTable table, CorrelationId id, RpcMethodDescriptor method, long deadlineMs, long firstDueMs, long idleTimeoutMs)
        : base(table, id, method, deadlineMs)
    {
        FirstDueMs = firstDueMs;
        IdleTimeoutMs = idleTimeoutMs;
    }

    /// <summary>When the first message must have arrived (the method's timeout; moved once by <c>ExtendByMs</c>).</summary>
    public long FirstDueMs { get; set; }

    public long IdleTimeoutMs { get; }

    /// <summary>When the stream's timer should fire next: the first message's due time, or the idle bound after the last message — never after the deadline.</summary>
    public override long WaitDueMs => Math.Min(DeadlineMs, State == CallState.WaitingFirst ? FirstDueMs : Volatile.Read(ref _lastMessageMs) + IdleTimeoutMs);

    /// <summary>A stream that ends any way but by the server's end message leaves its server producing for nobody.</summary>
    protected override bool EndsServerWork(CallState terminal) => terminal != CallState.Completed;

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

        Volatile.Write(ref _lastMessageMs, TimerWheel.NowMs);
        MarkWaitingNext();
        _messages.Writer.TryWrite(reply);
        // Each message restarts the idle timeout.
        Table.Rearm(this, WaitDueMs);
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
