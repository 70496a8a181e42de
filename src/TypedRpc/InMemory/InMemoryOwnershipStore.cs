using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>
/// An <see cref="IRpcOwnershipStore"/> that keeps everything in memory, for the engine's tests
/// and for testing your own services without Redis. Share one instance between the engine
/// instances of a test.
/// </summary>
/// <remarks>
/// <para>
/// Every entry (an owner record, a call's stored replies, a claim with its cached replies) expires
/// after its time to live, measured on the <see cref="TimeProvider"/> given to the constructor:
/// an expired entry is invisible, is removed when next touched, and all expired entries are swept
/// every 1,024 writes, so nothing grows without bound. Each operation is atomic (one lock).
/// </para>
/// <para>
/// Messages are copied when stored, so callers may reuse their buffers. Wake-up callbacks run on
/// the thread pool, in order and one at a time per subscription, never on the notifier's stack
/// and never with its <see cref="ExecutionContext"/>; a callback that throws is ignored.
/// </para>
/// <para>
/// Failures are reported in the returned task, as a remote store's would be; invalid arguments
/// throw at once. Every member is thread-safe.
/// </para>
/// </remarks>
public sealed partial class InMemoryOwnershipStore : IRpcOwnershipStore
{
    /// <summary>The message of the exception every operation throws while <see cref="InMemoryStoreFaults.Unavailable"/>.</summary>
    public const string UnavailableMessage = "The in-memory ownership store is unavailable.";

    private const int SweepInterval = 1024;

    private readonly TimeProvider _time;

    // One lock for all three maps: operations are short, and a single lock makes every method
    // atomic, as the Redis implementation's scripts are.
    private readonly Lock _lock = new();
    private readonly Dictionary<CorrelationId, (RpcOwner Owner, long ExpiresAt)> _owners = new();
    private readonly Dictionary<CorrelationId, (List<RpcReply> Replies, long ExpiresAt)> _replies = new();

    // Replies is null while the claim is running, and holds the cached replies once completed.
    private readonly Dictionary<CorrelationId, (string? Holder, RpcReply[]? Replies, long ExpiresAt, string? Fingerprint)> _claims = new();

    // Cancel markers: the deadline of the request its caller cancelled.
    private readonly Dictionary<CorrelationId, (long RequestDeadlineUnixMs, long ExpiresAt)> _cancels = new();
    private int _writesSinceSweep;

    // Wake-up subscribers per instance, as copy-on-write arrays.
    private readonly Lock _wakeUpLock = new();
    private readonly Dictionary<string, InMemoryWakeUpSubscription[]> _wakeUps = new(StringComparer.Ordinal);

    // Cancellation subscribers per service, kept like the wake-ups.
    private readonly Dictionary<string, InMemoryWakeUpSubscription[]> _cancellations = new(StringComparer.Ordinal);

    /// <summary>Creates an empty store.</summary>
    /// <param name="timeProvider">The clock entries expire by (and <see cref="InMemoryStoreFaults.OperationDelay"/> runs on); <see cref="TimeProvider.System"/> when null.</param>
    public InMemoryOwnershipStore(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Faults this store shows on request (down, slow), for tests.</summary>
    public InMemoryStoreFaults Faults { get; } = new();

    /// <summary>The live (unexpired) entries: owner records, calls with stored replies, and claims. Sweeps expired ones.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                Sweep(Now());
                return _owners.Count + _replies.Count + _claims.Count + _cancels.Count;
            }
        }
    }

    /// <summary>The entries held, expired ones not yet removed included (for tests of the sweep).</summary>
    internal int StoredEntryCount
    {
        get
        {
            lock (_lock)
            {
                return _owners.Count + _replies.Count + _claims.Count + _cancels.Count;
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask RegisterOwnerAsync(CorrelationId id, RpcOwner owner, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentNullException.ThrowIfNull(owner);
        ThrowIfNotPositive(timeToLive);
        return RegisterOwnerCoreAsync(id, owner, timeToLive, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    public ValueTask<RpcOwner?> GetOwnerAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        return GetOwnerCoreAsync(id, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="instanceId"/> is null or empty.</exception>
    public ValueTask ReleaseOwnerAsync(CorrelationId id, string instanceId, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return ReleaseOwnerCoreAsync(id, instanceId, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Each append renews the time to live of the call's replies. The notification is sent after the reply is visible.</remarks>
    /// <exception cref="ArgumentException">The reply's id is empty, or <paramref name="notifyInstance"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="reply"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask StoreReplyAsync(RpcReply reply, TimeSpan timeToLive, string? notifyInstance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reply);
        ThrowIfEmpty(reply.Id, nameof(reply));
        ThrowIfNotPositive(timeToLive);
        if (notifyInstance is { Length: 0 })
        {
            throw new ArgumentException("The instance to notify is empty; pass null to notify nobody.", nameof(notifyInstance));
        }

        return StoreReplyCoreAsync(InMemoryCopies.Copy(reply), timeToLive, notifyInstance, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    public ValueTask<IReadOnlyList<RpcReply>> GetRepliesAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        return GetRepliesCoreAsync(id, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A running claim answers <see cref="RpcClaimState.Running"/> to every other holder and
    /// <see cref="RpcClaimState.Claimed"/> (renewed) to its own; a completed one answers
    /// <see cref="RpcClaimState.Completed"/>; a released or expired one can be claimed again.
    /// <see cref="RpcClaim.Holder"/> is set in every state.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        TryClaimAsync(id, holder, timeToLive, default, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive, or the conditions' deadline is negative.</exception>
    public ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, RpcClaimConditions conditions, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ThrowIfNotPositive(timeToLive);
        ArgumentOutOfRangeException.ThrowIfNegative(conditions.RequestDeadlineUnixMs, nameof(conditions));
        return TryClaimCoreAsync(id, holder, timeToLive, conditions, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The marker is visible to claims at once; subscribers are signalled on the thread pool, as wake-ups are.</remarks>
    /// <exception cref="ArgumentException"><paramref name="service"/> is null or empty, or <paramref name="id"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="requestDeadlineUnixMs"/> is not positive, or <paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> CancelAsync(string service, CorrelationId id, long requestDeadlineUnixMs, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        ThrowIfEmpty(id);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(requestDeadlineUnixMs);
        ThrowIfNotPositive(timeToLive);
        return CancelCoreAsync(service, id, requestDeadlineUnixMs, timeToLive, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Callbacks run on the thread pool, in order and one at a time per subscription.</remarks>
    /// <exception cref="ArgumentException"><paramref name="service"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="onCancel"/> is null.</exception>
    public ValueTask<IAsyncDisposable> SubscribeCancellationsAsync(string service, Func<CorrelationId, long, ValueTask> onCancel, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentNullException.ThrowIfNull(onCancel);
        return SubscribeCoreAsync(_cancellations, service, onCancel, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> RenewClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ThrowIfNotPositive(timeToLive);
        return RenewClaimCoreAsync(id, holder, timeToLive, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Written when <paramref name="holder"/> holds the claim or none is left; a claim another holder took over is left alone.</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, <paramref name="holder"/> is null or empty, or <paramref name="replies"/> contains null.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="replies"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> CompleteClaimAsync(CorrelationId id, string holder, IReadOnlyList<RpcReply> replies, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ArgumentNullException.ThrowIfNull(replies);
        ThrowIfNotPositive(timeToLive);
        var copies = new RpcReply[replies.Count];
        for (var i = 0; i < copies.Length; i++)
        {
            var reply = replies[i] ?? throw new ArgumentException($"Reply {i} is null.", nameof(replies));
            copies[i] = InMemoryCopies.Copy(reply);
        }

        return CompleteClaimCoreAsync(id, holder, copies, timeToLive, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Does nothing when the claim is held by another holder or has completed (its replies stay).</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    public ValueTask ReleaseClaimAsync(CorrelationId id, string holder, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        return ReleaseClaimCoreAsync(id, holder, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Queues the wake-up for each current subscriber of the instance and returns; callbacks run later, on the thread pool.</remarks>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is null or empty, or <paramref name="id"/> is empty.</exception>
    public ValueTask NotifyAsync(string instanceId, CorrelationId id, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ThrowIfEmpty(id);
        return NotifyCoreAsync(instanceId, id, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// An instance may have several subscriptions; each gets every wake-up. Disposing one stops its
    /// callbacks (none starts afterwards; one already running is not awaited).
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="onWakeUp"/> is null.</exception>
    public ValueTask<IAsyncDisposable> SubscribeWakeUpsAsync(string instanceId, Func<CorrelationId, ValueTask> onWakeUp, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentNullException.ThrowIfNull(onWakeUp);
        return SubscribeCoreAsync(_wakeUps, instanceId, (id, _) => onWakeUp(id), cancellationToken);
    }

    /// <summary>The live wake-up subscriptions of an instance (for tests that disposal leaves nothing behind).</summary>
    internal int WakeUpSubscriptionCount(string instanceId)
    {
        lock (_wakeUpLock)
        {
            return _wakeUps.TryGetValue(instanceId, out var subscriptions) ? subscriptions.Length : 0;
        }
    }

    internal void RemoveWakeUpSubscription(InMemoryWakeUpSubscription subscription)
    {
        var registry = subscription.Registry;
        lock (_wakeUpLock)
        {
            if (!registry.TryGetValue(subscription.InstanceId, out var current))
            {
                return;
            }

            var index = Array.IndexOf(current, subscription);
            if (index < 0)
            {
                return;
            }

            if (current.Length == 1)
            {
                registry.Remove(subscription.InstanceId);
                return;
            }

            var next = new InMemoryWakeUpSubscription[current.Length - 1];
            Array.Copy(current, 0, next, 0, index);
            Array.Copy(current, index + 1, next, index, current.Length - index - 1);
            registry[subscription.InstanceId] = next;
        }
    }

    private async ValueTask RegisterOwnerCoreAsync(CorrelationId id, RpcOwner owner, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            _owners[id] = (owner, ExpiresAt(now, timeToLive));
            OnWrite(now);
        }
    }

    private async ValueTask<RpcOwner?> GetOwnerCoreAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            if (!_owners.TryGetValue(id, out var entry))
            {
                return null;
            }

            if (entry.ExpiresAt <= Now())
            {
                _owners.Remove(id);
                return null;
            }

            return entry.Owner;
        }
    }

    private async ValueTask ReleaseOwnerCoreAsync(CorrelationId id, string instanceId, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            if (_owners.TryGetValue(id, out var entry)
                && (entry.ExpiresAt <= Now() || string.Equals(entry.Owner.InstanceId, instanceId, StringComparison.Ordinal)))
            {
                _owners.Remove(id);
            }
        }
    }

    private async ValueTask StoreReplyCoreAsync(RpcReply copy, TimeSpan timeToLive, string? notifyInstance, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            if (!_replies.TryGetValue(copy.Id, out var entry) || entry.ExpiresAt <= now)
            {
                entry = (new List<RpcReply>(), 0);
            }

            InsertBySequence(entry.Replies, copy);
            _replies[copy.Id] = (entry.Replies, ExpiresAt(now, timeToLive));
            OnWrite(now);
        }

        // After the lock: the reply is visible before any subscriber can be woken for it.
        if (notifyInstance is not null)
        {
            PostWakeUp(notifyInstance, copy.Id);
        }
    }

    private async ValueTask<IReadOnlyList<RpcReply>> GetRepliesCoreAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            if (!_replies.TryGetValue(id, out var entry))
            {
                return Array.Empty<RpcReply>();
            }

            if (entry.ExpiresAt <= Now())
            {
                _replies.Remove(id);
                return Array.Empty<RpcReply>();
            }

            return entry.Replies.ToArray();
        }
    }

    private async ValueTask<RpcClaim> TryClaimCoreAsync(CorrelationId id, string holder, TimeSpan timeToLive, RpcClaimConditions conditions, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            if (conditions.RequestDeadlineUnixMs != 0 && _cancels.TryGetValue(id, out var cancel) && cancel.ExpiresAt > now
                && cancel.RequestDeadlineUnixMs == conditions.RequestDeadlineUnixMs)
            {
                return new RpcClaim(RpcClaimState.Cancelled, null, Array.Empty<RpcReply>());
            }

            var live = _claims.TryGetValue(id, out var claim) && claim.ExpiresAt > now;
            if (live && conditions.Fingerprint is not null && claim.Fingerprint is not null
                && !string.Equals(claim.Fingerprint, conditions.Fingerprint, StringComparison.Ordinal))
            {
                return new RpcClaim(RpcClaimState.Conflict, claim.Holder, Array.Empty<RpcReply>());
            }

            if (live)
            {
                if (claim.Replies is not null)
                {
                    return new RpcClaim(RpcClaimState.Completed, claim.Holder, claim.Replies);
                }

                if (!string.Equals(claim.Holder, holder, StringComparison.Ordinal))
                {
                    return new RpcClaim(RpcClaimState.Running, claim.Holder, Array.Empty<RpcReply>());
                }
            }

            _claims[id] = (holder, null, ExpiresAt(now, timeToLive), conditions.Fingerprint ?? (live ? claim.Fingerprint : null));
            OnWrite(now);
            return new RpcClaim(RpcClaimState.Claimed, holder, Array.Empty<RpcReply>());
        }
    }

    private async ValueTask<bool> CancelCoreAsync(string service, CorrelationId id, long requestDeadlineUnixMs, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            _cancels[id] = (requestDeadlineUnixMs, ExpiresAt(now, timeToLive));
            OnWrite(now);
        }

        // After the lock: a claim made from now on sees the marker, so a server signalled here
        // either holds the claim already or will be refused it.
        Post(_cancellations, service, id, requestDeadlineUnixMs);
        return true;
    }

    private async ValueTask<bool> RenewClaimCoreAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            var live = _claims.TryGetValue(id, out var claim) && claim.ExpiresAt > now;
            if (live && (claim.Replies is not null || !string.Equals(claim.Holder, holder, StringComparison.Ordinal)))
            {
                return false;
            }

            // Held by this holder, or gone (it expired while renewals failed and nobody took it):
            // taken again, so the request stays claimed while its handler runs.
            _claims[id] = (holder, null, ExpiresAt(now, timeToLive), live ? claim.Fingerprint : null);
            return true;
        }
    }

    private async ValueTask<bool> CompleteClaimCoreAsync(CorrelationId id, string holder, RpcReply[] replies, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var now = Now();
            var live = _claims.TryGetValue(id, out var claim) && claim.ExpiresAt > now;
            if (live && !string.Equals(claim.Holder, holder, StringComparison.Ordinal))
            {
                return false;
            }

            _claims[id] = (holder, replies, ExpiresAt(now, timeToLive), live ? claim.Fingerprint : null);
            OnWrite(now);
            return true;
        }
    }

    private async ValueTask ReleaseClaimCoreAsync(CorrelationId id, string holder, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            if (!_claims.TryGetValue(id, out var claim))
            {
                return;
            }

            var expired = claim.ExpiresAt <= Now();
            var heldByCaller = claim.Replies is null && string.Equals(claim.Holder, holder, StringComparison.Ordinal);
            if (expired || heldByCaller)
            {
                _claims.Remove(id);
            }
        }
    }

    private async ValueTask NotifyCoreAsync(string instanceId, CorrelationId id, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        PostWakeUp(instanceId, id);
    }

    private async ValueTask<IAsyncDisposable> SubscribeCoreAsync(Dictionary<string, InMemoryWakeUpSubscription[]> registry, string name, Func<CorrelationId, long, ValueTask> callback, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        var subscription = new InMemoryWakeUpSubscription(this, registry, name, callback);
        lock (_wakeUpLock)
        {
            if (registry.TryGetValue(name, out var current))
            {
                var next = new InMemoryWakeUpSubscription[current.Length + 1];
                current.CopyTo(next, 0);
                next[current.Length] = subscription;
                registry[name] = next;
            }
            else
            {
                registry[name] = [subscription];
            }
        }

        subscription.Start();
        return subscription;
    }

    // The start of every operation: the simulated latency, then cancellation and availability.
    // Throws rather than returning a faulted task: it runs inside the async Core methods.
    private ValueTask BeginAsync(CancellationToken cancellationToken)
    {
        var delayTicks = Faults.OperationDelayTicks;
        if (delayTicks > 0)
        {
            return DelayThenCheckAsync(TimeSpan.FromTicks(delayTicks), cancellationToken);
        }

        Check(cancellationToken);
        return ValueTask.CompletedTask;
    }

    private async ValueTask DelayThenCheckAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        Check(cancellationToken);
    }

    private void Check(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Faults.Unavailable)
        {
            throw new InvalidOperationException(UnavailableMessage);
        }
    }

    private void PostWakeUp(string instanceId, CorrelationId id) => Post(_wakeUps, instanceId, id, 0);

    private void Post(Dictionary<string, InMemoryWakeUpSubscription[]> registry, string name, CorrelationId id, long value)
    {
        lock (_wakeUpLock)
        {
            if (registry.TryGetValue(name, out var subscriptions))
            {
                foreach (var subscription in subscriptions)
                {
                    subscription.Post(id, value);
                }
            }
        }
    }

    private long Now() => _time.GetUtcNow().UtcTicks;

    private static long ExpiresAt(long now, TimeSpan timeToLive) =>
        timeToLive.Ticks > long.MaxValue - now ? long.MaxValue : now + timeToLive.Ticks;

    // Keeps the list sorted by sequence; a sequence already present is ignored (first write wins),
    // except that a stored DeadlineExceeded end gives way to a later message (see StoreReplyAsync).
    private static void InsertBySequence(List<RpcReply> replies, RpcReply reply)
    {
        // Replies nearly always arrive in order, so the common case appends without searching.
        var count = replies.Count;
        if (count == 0 || replies[count - 1].Sequence < reply.Sequence)
        {
            replies.Add(reply);
            return;
        }

        int low = 0, high = count - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            var sequence = replies[middle].Sequence;
            if (sequence == reply.Sequence)
            {
                if (IsProvisional(replies[middle]) && !IsProvisional(reply))
                {
                    replies[middle] = reply;
                }

                return;
            }

            if (sequence < reply.Sequence)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        replies.Insert(low, reply);
    }

    /// <summary>A DeadlineExceeded end says only that no result came in time: the call's real outcome, when it comes, replaces it.</summary>
    private static bool IsProvisional(RpcReply reply) => reply.IsEnd && reply.Status == RpcStatusCode.DeadlineExceeded;

    // Called under _lock after every write.
    private void OnWrite(long now)
    {
        if (++_writesSinceSweep >= SweepInterval)
        {
            Sweep(now);
        }
    }

    // Called under _lock. Removing while enumerating a Dictionary is allowed since .NET Core 3.0.
    private void Sweep(long now)
    {
        _writesSinceSweep = 0;
        foreach (var pair in _owners)
        {
            if (pair.Value.ExpiresAt <= now)
            {
                _owners.Remove(pair.Key);
            }
        }

        foreach (var pair in _replies)
        {
            if (pair.Value.ExpiresAt <= now)
            {
                _replies.Remove(pair.Key);
            }
        }

        foreach (var pair in _claims)
        {
            if (pair.Value.ExpiresAt <= now)
            {
                _claims.Remove(pair.Key);
            }
        }

        foreach (var pair in _cancels)
        {
            if (pair.Value.ExpiresAt <= now)
            {
                _cancels.Remove(pair.Key);
            }
        }
    }

    private static void ThrowIfEmpty(CorrelationId id, string parameterName = "id")
    {
        if (id.IsEmpty)
        {
            throw new ArgumentException("The correlation id is empty.", parameterName);
        }
    }

    private static void ThrowIfNotPositive(TimeSpan timeToLive, string parameterName = "timeToLive") =>
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero, parameterName);
}
