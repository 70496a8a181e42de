using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>
/// The replies sent to one address, and the single pump that hands them, in send order and one
/// at a time, to whichever subscription currently holds the address.
/// </summary>
/// <remarks>
/// The pump runs only while there is work and a subscriber, and is restarted by whatever makes
/// both true again (a send, a subscribe, the transport coming back up). The <c>_pumping</c> flag,
/// read and written under the lock, keeps it to one pump per address, also across a change of
/// subscription: a pump that outlives its subscriber simply continues with the next one.
/// </remarks>
internal sealed class InMemoryReplyMailbox : IThreadPoolWorkItem
{
    private readonly InMemoryRpcTransport _transport;
    private readonly RpcReplyAddress _address;
    private readonly Lock _lock = new();
    private readonly Queue<RpcReply> _queue = new();
    private InMemoryReplySubscription? _current;
    private bool _pumping;
    private bool _shutDown;

    public InMemoryReplyMailbox(InMemoryRpcTransport transport, RpcReplyAddress address)
    {
        _transport = transport;
        _address = address;
    }

    /// <summary>Queues a reply, dropping the oldest one when the address is full.</summary>
    public void Post(RpcReply reply)
    {
        lock (_lock)
        {
            if (_shutDown)
            {
                return;
            }

            // Bounded so that replies to an instance that never comes back cannot grow forever.
            if (_queue.Count >= _transport.MaxPendingRepliesPerAddress)
            {
                _queue.Dequeue();
                _transport.OnReplyDropped();
            }

            _queue.Enqueue(reply);
            StartPumpIfNeeded();
        }
    }

    /// <summary>Makes a new subscription the address's consumer.</summary>
    /// <exception cref="InvalidOperationException">A live subscription already holds the address.</exception>
    public InMemoryReplySubscription Attach(string instanceId, RpcReplyHandler handler)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_shutDown, _transport);
            if (_current is not null)
            {
                throw new InvalidOperationException(
                    $"Instance '{instanceId}' already has a live reply subscription on this in-memory transport (address '{_address}'); dispose it before subscribing again, or give each engine instance its own instance id.");
            }

            _current = new InMemoryReplySubscription(this, _address, handler);
            StartPumpIfNeeded();
            return _current;
        }
    }

    /// <summary>Releases the address if <paramref name="subscription"/> still holds it.</summary>
    public void Detach(InMemoryReplySubscription subscription)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_current, subscription))
            {
                _current = null;
            }
        }
    }

    /// <summary>Restarts the pump if it has work (the transport came back up).</summary>
    public void Kick()
    {
        lock (_lock)
        {
            StartPumpIfNeeded();
        }
    }

    /// <summary>Drops the queue and detaches the subscriber for good (the transport is being disposed).</summary>
    public InMemoryReplySubscription? Shutdown()
    {
        lock (_lock)
        {
            _shutDown = true;
            _queue.Clear();
            var current = _current;
            _current = null;
            return current;
        }
    }

    void IThreadPoolWorkItem.Execute() => _ = PumpAsync();

    // Called under _lock.
    private void StartPumpIfNeeded()
    {
        if (!_pumping && _current is not null && _queue.Count > 0 && _transport.CanDeliver)
        {
            _pumping = true;

            // Unsafe: the sender's ExecutionContext must not flow into the caller's reply handler.
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    // Never faults; exits (clearing _pumping under the lock) when there is nothing it may deliver.
    private async Task PumpAsync()
    {
        while (true)
        {
            InMemoryReplySubscription subscription;
            RpcReply reply;
            lock (_lock)
            {
                if (_current is null || _queue.Count == 0 || !_transport.CanDeliver)
                {
                    _pumping = false;
                    return;
                }

                subscription = _current;
                reply = _queue.Dequeue();
            }

            // Handed over = consumed: a reply whose handler throws is counted, not redelivered,
            // as a reply consumer logs and commits rather than blocking every later reply.
            try
            {
                await subscription.Handler(reply, subscription.Stopping).ConfigureAwait(false);
                _transport.OnReplyDelivered();
            }
            catch (Exception)
            {
                _transport.OnReplyHandlerFailed();
            }
        }
    }
}
