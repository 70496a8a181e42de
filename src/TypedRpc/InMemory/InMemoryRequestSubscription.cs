using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>One member of a service's server group on an <see cref="InMemoryRpcTransport"/>.</summary>
internal sealed class InMemoryRequestSubscription : IAsyncDisposable
{
    private readonly InMemoryRequestGroup _group;

    // Never disposed: handlers still running after the subscription stops keep using the token.
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    public InMemoryRequestSubscription(InMemoryRequestGroup group, RpcRequestHandler handler)
    {
        _group = group;
        Handler = handler;
    }

    public RpcRequestHandler Handler { get; }

    /// <summary>Signalled when the subscription stops.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Deliveries handed to this member and not yet acknowledged; guarded by the group's lock.</summary>
    public HashSet<InMemoryRequestDelivery> InFlight { get; } = new();

    /// <summary>
    /// Leaves the server group: unacknowledged requests go to the other members. Does not wait
    /// for running handlers; they see their token signalled, and their late outcome is ignored.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Leave before signalling: a handler that swallows the cancellation and returns
            // normally must not turn into an acknowledgement of a request we are handing back.
            _group.Leave(this);
            Stop();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Signals the token; exceptions from the handlers' registrations stay here.</summary>
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
