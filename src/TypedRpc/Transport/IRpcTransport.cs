using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.Transport;

/// <summary>
/// Handles one request delivered to a server; the transport acknowledges it (commits) when the
/// returned task completes. When it faults, the transport retries the delivery (bounded) — except
/// with <see cref="RpcDeliveryAbandonedException"/>: then it leaves the delivery unacknowledged for
/// another member, without a retry or a failure report.
/// </summary>
/// <param name="request">The request.</param>
/// <param name="cancellationToken">Signalled when the subscription stops.</param>
/// <returns>A task that completes when the request is fully handled (its reply handed to the transport).</returns>
public delegate ValueTask RpcRequestHandler(RpcRequest request, CancellationToken cancellationToken);

/// <summary>Handles one reply message delivered to a caller instance.</summary>
/// <param name="reply">The reply.</param>
/// <param name="cancellationToken">Signalled when the subscription stops.</param>
/// <returns>A task that completes when the reply is handled.</returns>
public delegate ValueTask RpcReplyHandler(RpcReply reply, CancellationToken cancellationToken);

/// <summary>
/// Moves requests and replies between instances. Implemented over Kafka, and in memory for
/// tests. The engine never sees the broker: this interface and <see cref="RpcRequest"/> /
/// <see cref="RpcReply"/> are all it knows.
/// </summary>
/// <remarks>
/// Delivery is at least once: a request may be delivered again (after a crash or a rebalance),
/// which the engine handles with claims. A record the transport cannot decode at all is the
/// transport's to dead-letter or log; it must never stop delivery.
/// <para>
/// A request or reply handed to a send is the transport's from then on, payload and headers
/// included: the sender never changes it again, so a transport may keep it and deliver it as it
/// is (the in-memory transport does; a broker transport serializes it). Payloads the engine sends
/// are arrays of their own for this reason, and a receiver must not change what it is delivered.
/// </para>
/// </remarks>
public interface IRpcTransport
{
    /// <summary>Sends a request to the service's request destination; completes when the transport has accepted it.</summary>
    /// <param name="service">The contract.</param>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>A task that completes when the request is durably accepted.</returns>
    ValueTask SendRequestAsync(RpcServiceDescriptor service, RpcRequest request, CancellationToken cancellationToken);

    /// <summary>Sends a reply message to a caller's reply address; completes when the transport has accepted it.</summary>
    /// <param name="address">The caller's reply address (from the request).</param>
    /// <param name="reply">The reply.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>A task that completes when the reply is durably accepted.</returns>
    ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken);

    /// <summary>
    /// Starts consuming the service's requests as one member of the service's server group:
    /// each request goes to one member. Disposing the subscription stops consuming; requests
    /// not yet acknowledged are delivered again to another member. A transport whose members join
    /// the group some time after subscribing returns an <see cref="IRpcRequestSubscription"/>, which
    /// says when that happened (the host reports the server ready then).
    /// </summary>
    /// <param name="service">The contract.</param>
    /// <param name="handler">Handles each request.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The subscription.</returns>
    ValueTask<IAsyncDisposable> SubscribeRequestsAsync(RpcServiceDescriptor service, RpcRequestHandler handler, CancellationToken cancellationToken);

    /// <summary>Starts consuming this instance's replies.</summary>
    /// <param name="instanceId">The caller instance's id.</param>
    /// <param name="handler">Handles each reply message.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The subscription, with the address requests should name.</returns>
    ValueTask<IRpcReplySubscription> SubscribeRepliesAsync(string instanceId, RpcReplyHandler handler, CancellationToken cancellationToken);

    /// <summary>
    /// Gets ready to send requests to <paramref name="services"/> (and replies within this
    /// instance's client group), so that the first call costs what later ones do — the Kafka
    /// transport fetches the topics' metadata through its producer. The host calls it once at
    /// start, after the reply subscription, with the contracts registered as clients, and reports
    /// the client ready when it completes. A destination that does not exist yet is logged, not
    /// thrown: its server may create it later. The default prepares nothing.
    /// </summary>
    /// <param name="services">The contracts this instance calls.</param>
    /// <param name="cancellationToken">Cancels the preparation.</param>
    /// <returns>A task that completes when the transport is prepared (or gave up on a destination).</returns>
    ValueTask PrepareToSendAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Gets ready to send the replies of <paramref name="services"/>' servers, so that the first
    /// request's reply costs what later ones do — the Kafka transport creates its producer and lets
    /// it acquire its producer id. The host calls it once at start, before the servers subscribe,
    /// when it runs any. The default prepares nothing.
    /// </summary>
    /// <param name="services">The contracts this instance serves.</param>
    /// <param name="cancellationToken">Cancels the preparation.</param>
    /// <returns>A task that completes when the transport is prepared (or gave up).</returns>
    ValueTask PrepareToReplyAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>A running reply subscription.</summary>
public interface IRpcReplySubscription : IAsyncDisposable
{
    /// <summary>The address that reaches this subscription; put in each request's <see cref="RpcRequest.ReplyTo"/>.</summary>
    RpcReplyAddress Address { get; }

    /// <summary>
    /// <see langword="true"/> when every instance receives every reply (broadcast routing): a reply
    /// owned by another instance is then that instance's to handle, and is neither stored nor
    /// forwarded here. Default <see langword="false"/>.
    /// </summary>
    bool ReceivesEveryReply => false;
}
