using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>
/// An <see cref="IRpcTransport"/> that keeps everything in memory: one instance plays the broker,
/// and any number of engine instances in the process share it. For the engine's tests and for
/// testing your own services without Kafka.
/// </summary>
/// <remarks>
/// Requests are delivered at least once, as over a broker. Messages are delivered as sent (not copied); handlers
/// never run on the sender's stack nor see its <see cref="ExecutionContext"/> (no
/// <c>Activity.Current</c> or <see cref="AsyncLocal{T}"/> leaks across), and their exceptions never
/// escape. Every member is thread-safe.
/// </remarks>
public sealed class InMemoryRpcTransport : IRpcTransport, IAsyncDisposable
{
    /// <summary>How many failed deliveries of one request the transport makes before dead-lettering it.</summary>
    public const int MaxDeliveryAttempts = 5;

    /// <summary>The message of the exception sends throw while <see cref="IsDown"/>.</summary>
    public const string DownMessage = "The in-memory transport is down.";

    private const string ReplyDestinationPrefix = "replies.";

    private readonly ConcurrentDictionary<string, InMemoryRequestGroup> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<RpcReplyAddress, InMemoryReplyMailbox> _mailboxes = new();
    private readonly Lock _deadLetterLock = new();
    private readonly List<InMemoryDeadLetter> _deadLetters = new();
    private readonly int _maxPendingRepliesPerAddress = 100_000;

    private volatile bool _isDown;
    private volatile bool _disposed;
    private long _requestsSent;
    private long _repliesSent;
    private long _deliveries;
    private long _redeliveries;
    private long _repliesDelivered;
    private long _replyHandlerFailures;
    private long _droppedReplies;

    /// <summary>
    /// How many undelivered replies one address keeps while nobody subscribes to it; when a new
    /// one arrives beyond that, the oldest is dropped. Default 100,000.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxPendingRepliesPerAddress
    {
        get => _maxPendingRepliesPerAddress;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxPendingRepliesPerAddress = value;
        }
    }

    /// <summary>
    /// Fault injection: while <see langword="true"/>, <see cref="SendRequestAsync"/> and
    /// <see cref="SendReplyAsync"/> fail with <see cref="InvalidOperationException"/>
    /// (<see cref="DownMessage"/>) and nothing is delivered. Queued requests and replies are
    /// delivered when it is set back to <see langword="false"/>; handlers already running finish.
    /// </summary>
    public bool IsDown
    {
        get => _isDown;
        set
        {
            _isDown = value;
            if (!value)
            {
                Resume();
            }
        }
    }

    /// <summary>Faults this transport shows on request (duplicate deliveries), for tests.</summary>
    public InMemoryTransportFaults Faults { get; } = new();

    /// <summary>The requests accepted by <see cref="SendRequestAsync"/>.</summary>
    public long RequestsSent => Interlocked.Read(ref _requestsSent);

    /// <summary>The replies accepted by <see cref="SendReplyAsync"/>.</summary>
    public long RepliesSent => Interlocked.Read(ref _repliesSent);

    /// <summary>The request deliveries made to handlers: first deliveries, duplicates and redeliveries.</summary>
    public long Deliveries => Interlocked.Read(ref _deliveries);

    /// <summary>The request deliveries that followed a failed delivery of the same request (included in <see cref="Deliveries"/>).</summary>
    public long Redeliveries => Interlocked.Read(ref _redeliveries);

    /// <summary>The replies whose handler completed successfully.</summary>
    public long RepliesDelivered => Interlocked.Read(ref _repliesDelivered);

    /// <summary>The replies whose handler threw (they are not delivered again).</summary>
    public long ReplyHandlerFailures => Interlocked.Read(ref _replyHandlerFailures);

    /// <summary>The replies dropped because their address already held <see cref="MaxPendingRepliesPerAddress"/> undelivered ones.</summary>
    public long DroppedReplies => Interlocked.Read(ref _droppedReplies);

    /// <summary>The requests given up on after <see cref="MaxDeliveryAttempts"/> failed deliveries, oldest first (a snapshot).</summary>
    public IReadOnlyList<InMemoryDeadLetter> DeadLetters
    {
        get
        {
            lock (_deadLetterLock)
            {
                return _deadLetters.ToArray();
            }
        }
    }

    /// <summary>Whether deliveries may start: up and not disposed.</summary>
    internal bool CanDeliver => !_isDown && !_disposed;

    /// <inheritdoc />
    /// <remarks>
    /// The request itself is delivered, not a copy (a sent request is the transport's: see
    /// <see cref="IRpcTransport"/>). With no member subscribed, it waits in the service's queue.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="service"/> or <paramref name="request"/> is null.</exception>
    /// <exception cref="InvalidOperationException">(In the task.) The transport <see cref="IsDown"/>.</exception>
    /// <exception cref="ObjectDisposedException">(In the task.) The transport is disposed.</exception>
    public ValueTask SendRequestAsync(RpcServiceDescriptor service, RpcRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(request);
        if (CheckSend(cancellationToken) is { } failed)
        {
            return failed;
        }

        Interlocked.Increment(ref _requestsSent);
        GetGroup(service.ServiceName).Enqueue(request, Faults.DuplicateEveryRequest ? 2 : 1);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>The reply itself is delivered, not a copy. With no subscription holding the address, it is kept for the next one.</remarks>
    /// <exception cref="ArgumentException"><paramref name="address"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="reply"/> is null.</exception>
    /// <exception cref="InvalidOperationException">(In the task.) The transport <see cref="IsDown"/>.</exception>
    /// <exception cref="ObjectDisposedException">(In the task.) The transport is disposed.</exception>
    public ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken)
    {
        if (address.IsEmpty)
        {
            throw new ArgumentException("The reply address is empty.", nameof(address));
        }

        ArgumentNullException.ThrowIfNull(reply);
        if (CheckSend(cancellationToken) is { } failed)
        {
            return failed;
        }

        Interlocked.Increment(ref _repliesSent);
        GetMailbox(address).Post(reply);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The subscription joins the service's server group: each request goes to one live member
    /// (round-robin), each delivery on its own thread-pool work item, and is acknowledged when the
    /// handler's task completes successfully. A request whose handler throws, or whose subscription
    /// is disposed first, is delivered again to a live member (or waits for one); after
    /// <see cref="MaxDeliveryAttempts"/> failed deliveries it goes to <see cref="DeadLetters"/>.
    /// Disposing the subscription hands its unacknowledged requests to the other members at once
    /// and signals the handlers' token; it does not wait for them to return, and their outcome is
    /// then ignored.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="service"/> or <paramref name="handler"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The transport is disposed.</exception>
    public ValueTask<IAsyncDisposable> SubscribeRequestsAsync(RpcServiceDescriptor service, RpcRequestHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();

        IAsyncDisposable subscription = GetGroup(service.ServiceName).Join(handler);

        // Disposal may have raced with the join; the group would never be shut down again.
        if (_disposed)
        {
            ShutdownAll();
            throw new ObjectDisposedException(GetType().FullName);
        }

        return ValueTask.FromResult(subscription);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The subscription's address is <c>replies.{instanceId}</c> (no partition). Its replies are
    /// delivered in send order, one at a time; a handler that throws is counted in
    /// <see cref="ReplyHandlerFailures"/> and its reply not delivered again. Replies to an address
    /// nobody holds wait for its next subscription (see <see cref="MaxPendingRepliesPerAddress"/>).
    /// Disposing the subscription does not wait for a running reply handler.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A live subscription for <paramref name="instanceId"/> already exists on this transport.</exception>
    /// <exception cref="ObjectDisposedException">The transport is disposed.</exception>
    public ValueTask<IRpcReplySubscription> SubscribeRepliesAsync(string instanceId, RpcReplyHandler handler, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();

        var address = new RpcReplyAddress(ReplyDestinationPrefix + instanceId);
        IRpcReplySubscription subscription = GetMailbox(address).Attach(instanceId, handler);
        if (_disposed)
        {
            ShutdownAll();
            throw new ObjectDisposedException(GetType().FullName);
        }

        return ValueTask.FromResult(subscription);
    }

    /// <summary>
    /// Stops every pump and subscription: queued requests and replies are dropped, running
    /// handlers see their token signalled (they are not awaited), and every later send or
    /// subscribe throws <see cref="ObjectDisposedException"/>.
    /// </summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        ShutdownAll();
        return ValueTask.CompletedTask;
    }

    internal void OnDelivering(bool isRedelivery)
    {
        Interlocked.Increment(ref _deliveries);
        if (isRedelivery)
        {
            Interlocked.Increment(ref _redeliveries);
        }
    }

    internal void OnReplyDelivered() => Interlocked.Increment(ref _repliesDelivered);

    internal void OnReplyHandlerFailed() => Interlocked.Increment(ref _replyHandlerFailures);

    internal void OnReplyDropped() => Interlocked.Increment(ref _droppedReplies);

    internal void AddDeadLetter(InMemoryDeadLetter deadLetter)
    {
        lock (_deadLetterLock)
        {
            _deadLetters.Add(deadLetter);
        }
    }

    // The failure a send reports in its task (not thrown), as a real producer's would be; null to go on.
    private ValueTask? CheckSend(CancellationToken cancellationToken)
    {
        if (_disposed)
        {
            return ValueTask.FromException(new ObjectDisposedException(GetType().FullName));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        if (_isDown)
        {
            return ValueTask.FromException(new InvalidOperationException(DownMessage));
        }

        return null;
    }

    private InMemoryRequestGroup GetGroup(string serviceName) =>
        _groups.GetOrAdd(serviceName, static (name, transport) => new InMemoryRequestGroup(transport, name), this);

    private InMemoryReplyMailbox GetMailbox(RpcReplyAddress address) =>
        _mailboxes.GetOrAdd(address, static (a, transport) => new InMemoryReplyMailbox(transport, a), this);

    private void Resume()
    {
        if (_disposed)
        {
            return;
        }

        foreach (var group in _groups)
        {
            group.Value.Dispatch();
        }

        foreach (var mailbox in _mailboxes)
        {
            mailbox.Value.Kick();
        }
    }

    // Idempotent, so a subscribe that raced with DisposeAsync can run it again.
    private void ShutdownAll()
    {
        foreach (var group in _groups)
        {
            foreach (var member in group.Value.Shutdown())
            {
                member.Stop();
            }
        }

        foreach (var mailbox in _mailboxes)
        {
            mailbox.Value.Shutdown()?.Stop();
        }
    }
}
