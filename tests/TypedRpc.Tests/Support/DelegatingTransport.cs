using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.Tests.Support;

/// <summary>A transport that hands everything to <paramref name="inner"/>: a test overrides only what it watches or breaks.</summary>
/// <param name="inner">The transport underneath (usually the cluster's in-memory one).</param>
public abstract class DelegatingTransport(IRpcTransport inner) : IRpcTransport
{
    /// <summary>The transport underneath.</summary>
    protected IRpcTransport Inner => inner;

    public virtual ValueTask SendRequestAsync(RpcServiceDescriptor service, RpcRequest request, CancellationToken cancellationToken) =>
        inner.SendRequestAsync(service, request, cancellationToken);

    public virtual ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken) =>
        inner.SendReplyAsync(address, reply, cancellationToken);

    public virtual ValueTask<IAsyncDisposable> SubscribeRequestsAsync(RpcServiceDescriptor service, RpcRequestHandler handler, CancellationToken cancellationToken) =>
        inner.SubscribeRequestsAsync(service, handler, cancellationToken);

    public virtual ValueTask<IRpcReplySubscription> SubscribeRepliesAsync(string instanceId, RpcReplyHandler handler, CancellationToken cancellationToken) =>
        inner.SubscribeRepliesAsync(instanceId, handler, cancellationToken);

    public virtual ValueTask PrepareToSendAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken) =>
        inner.PrepareToSendAsync(services, cancellationToken);

    public virtual ValueTask PrepareToReplyAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken) =>
        inner.PrepareToReplyAsync(services, cancellationToken);
}
