using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Transport;

namespace TypedRpc.Tests.Support;

/// <summary>
/// The in-memory transport with the start-up steps a broker takes time for held by the test:
/// preparing to send (Kafka: fetching metadata) waits for <see cref="PrepareGate"/>.
/// </summary>
public sealed class GatedTransport(InMemoryRpcTransport inner) : IRpcTransport
{
    /// <summary>What each <see cref="PrepareToSendAsync"/> call was given.</summary>
    public ConcurrentQueue<IReadOnlyList<RpcServiceDescriptor>> Prepared { get; } = new();

    /// <summary>Completed by the test to let preparations finish; completed from the start unless replaced.</summary>
    public Task PrepareGate { get; set; } = Task.CompletedTask;

    public ValueTask SendRequestAsync(RpcServiceDescriptor service, RpcRequest request, CancellationToken cancellationToken) =>
        inner.SendRequestAsync(service, request, cancellationToken);

    public ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken) =>
        inner.SendReplyAsync(address, reply, cancellationToken);

    public ValueTask<IAsyncDisposable> SubscribeRequestsAsync(RpcServiceDescriptor service, RpcRequestHandler handler, CancellationToken cancellationToken) =>
        inner.SubscribeRequestsAsync(service, handler, cancellationToken);

    public ValueTask<IRpcReplySubscription> SubscribeRepliesAsync(string instanceId, RpcReplyHandler handler, CancellationToken cancellationToken) =>
        inner.SubscribeRepliesAsync(instanceId, handler, cancellationToken);

    public async ValueTask PrepareToSendAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken)
    {
        Prepared.Enqueue(services);
        await PrepareGate.WaitAsync(cancellationToken);
    }
}
