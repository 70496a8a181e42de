using System;
using System.Collections.Generic;
using System.Threading;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>
/// The broker side of one service: the queue of requests not yet handed out, and the server
/// group of live subscriptions they are handed to, round-robin.
/// </summary>
/// <remarks>
/// One lock guards the queue, the members and every member's in-flight set, so "is this delivery
/// still unacknowledged?" has exactly one answer: whichever of acknowledge, fail or leave takes
/// the delivery out of the in-flight set first decides its fate.
/// </remarks>
internal sealed class InMemoryRequestGroup
{
    private const string DisposedReason = "The subscription was disposed before the request was acknowledged.";

    private readonly InMemoryRpcTransport _transport;
    private readonly Lock _lock = new();

    // Failed requests go before new ones, as a broker re-reads from the uncommitted offset.
    private readonly Queue<InMemoryRequestEnvelope> _retries = new();
    private readonly Queue<InMemoryRequestEnvelope> _pending = new();
    private readonly List<InMemoryRequestSubscription> _members = new();
    private int _next;

    public InMemoryRequestGroup(InMemoryRpcTransport transport, string serviceName)
    {
        _transport = transport;
        ServiceName = serviceName;
    }

    public string ServiceName { get; }

    public InMemoryRpcTransport Transport => _transport;

    /// <summary>Queues <paramref name="copies"/> deliveries of the request and hands out what it can.</summary>
    public void Enqueue(RpcRequest request, int copies)
    {
        lock (_lock)
        {
            for (var i = 0; i < copies; i++)
            {
                _pending.Enqueue(new InMemoryRequestEnvelope(request));
            }
        }

        Dispatch();
    }

    /// <summary>Adds a member to the server group.</summary>
    public InMemoryRequestSubscription Join(RpcRequestHandler handler)
    {
        var subscription = new InMemoryRequestSubscription(this, handler);
        lock (_lock)
        {
            _members.Add(subscription);
        }

        Dispatch();
        return subscription;
    }

    /// <summary>
    /// Removes a member: everything it has not acknowledged counts as a failed delivery and is
    /// queued again for the others (or dead-lettered).
    /// </summary>
    /// <returns><see langword="false"/> when it had already left.</returns>
    public bool Leave(InMemoryRequestSubscription subscription)
    {
        lock (_lock)
        {
            if (!_members.Remove(subscription))
            {
                return false;
            }

            foreach (var delivery in subscription.InFlight)
            {
                Fail(delivery.Envelope, DisposedReason, exception: null);
            }

            subscription.InFlight.Clear();
        }

        Dispatch();
        return true;
    }

    /// <summary>Records the end of a delivery: acknowledged when <paramref name="error"/> is null, else failed.</summary>
    public void Complete(InMemoryRequestDelivery delivery, Exception? error)
    {
        lock (_lock)
        {
            if (error is TypedRpc.Transport.RpcDeliveryAbandonedException)
            {
                // Left for the next member, as an uncommitted record is: not a failed attempt. It
                // stays in flight until its subscription leaves (the engine is stopping), which
                // queues it again.
                return;
            }

            // Not in flight any more: its subscription left and already queued it again, so this
            // late acknowledgement (or failure) is ignored, as a broker rejects a commit after a rebalance.
            if (!delivery.Subscription.InFlight.Remove(delivery) || error is null)
            {
                return;
            }

            Fail(delivery.Envelope, error.GetType().Name + ": " + error.Message, error);
        }

        Dispatch();
    }

    /// <summary>Whether the delivery is still waiting for its handler's outcome.</summary>
    public bool IsInFlight(InMemoryRequestDelivery delivery)
    {
        lock (_lock)
        {
            return delivery.Subscription.InFlight.Contains(delivery);
        }
    }

    /// <summary>Hands queued requests to members while there are both and the transport is up.</summary>
    public void Dispatch()
    {
        lock (_lock)
        {
            while (_members.Count > 0 && _transport.CanDeliver && (_retries.Count > 0 || _pending.Count > 0))
            {
                var envelope = _retries.Count > 0 ? _retries.Dequeue() : _pending.Dequeue();
                if (_next >= _members.Count)
                {
                    _next = 0;
                }

                var member = _members[_next++];
                var delivery = new InMemoryRequestDelivery(this, member, envelope, isRedelivery: envelope.Failures > 0);
                member.InFlight.Add(delivery);

                // Each delivery runs on its own work item so a member's handlers run concurrently.
                // Unsafe: the sender's ExecutionContext (Activity.Current, AsyncLocals) must not leak
                // into the server, exactly as it cannot across a real broker.
                ThreadPool.UnsafeQueueUserWorkItem(delivery, preferLocal: false);
            }
        }
    }

    /// <summary>Drops everything and detaches every member (the transport is being disposed).</summary>
    public InMemoryRequestSubscription[] Shutdown()
    {
        lock (_lock)
        {
            var members = _members.ToArray();
            foreach (var member in members)
            {
                member.InFlight.Clear();
            }

            _members.Clear();
            _retries.Clear();
            _pending.Clear();
            return members;
        }
    }

    // Called under _lock.
    private void Fail(InMemoryRequestEnvelope envelope, string reason, Exception? exception)
    {
        envelope.Failures++;
        if (envelope.Failures >= InMemoryRpcTransport.MaxDeliveryAttempts)
        {
            _transport.AddDeadLetter(new InMemoryDeadLetter(ServiceName, envelope.Request, envelope.Failures, reason, exception));
        }
        else
        {
            _retries.Enqueue(envelope);
        }
    }
}
