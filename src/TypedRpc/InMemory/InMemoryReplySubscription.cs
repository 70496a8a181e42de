using System;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>A caller instance's reply subscription on an <see cref="InMemoryRpcTransport"/>.</summary>
internal sealed class InMemoryReplySubscription : IRpcReplySubscription
{
    private readonly InMemoryReplyMailbox _mailbox;

    // Never disposed: a handler still running after the subscription stops may use the token.
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    public InMemoryReplySubscription(InMemoryReplyMailbox mailbox, RpcReplyAddress address, RpcReplyHandler handler)
    {
        _mailbox = mailbox;
        Address = address;
        Handler = handler;
    }

    /// <inheritdoc />
    public RpcReplyAddress Address { get; }

    public RpcReplyHandler Handler { get; }

    public CancellationToken Stopping => _stopping.Token;

    /// <summary>
    /// Releases the address; replies sent from now on are kept for the next subscriber. Does not
    /// wait for a running handler (which may be the one disposing us); it sees its token signalled.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _mailbox.Detach(this);
            Stop();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Signals the token; exceptions from the handler's registrations stay here.</summary>
    public void Stop()
    {
        try
        {
            _stopping.Cancel();
        }
        catch (AggregateException)
        {
            // A callback registered by a handler threw; the subscription stops regardless.
        }
    }
}
