using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>
/// An <see cref="IRpcOwnershipStore"/> and <see cref="IRpcClaimStore"/> that keeps everything in memory, for the engine's tests
/// and for testing your own services without Redis. Share one instance between the engine
/// instances of a test.
/// </summary>
/// <remarks>
/// Each operation is atomic, and every entry expires after its time to live on the
/// <see cref="TimeProvider"/> given to the constructor. Stored messages are copied, so callers may
/// reuse their buffers. Failures come in the returned task, as a remote store's would; invalid
/// arguments throw at once. Every member is thread-safe.
/// </remarks>
public sealed partial class InMemoryOwnershipStore : IRpcOwnershipStore, IRpcClaimStore
{
    /// <summary>The message of the exception every operation throws while <see cref="InMemoryStoreFaults.Unavailable"/>.</summary>
    public const string UnavailableMessage = "The in-memory ownership store is unavailable.";

    // An expired entry is invisible at once and removed when next touched; every this many writes
    // all expired entries are swept, so nothing grows without bound.
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

    /// <summary>The clock entries expire by.</summary>
    public TimeProvider TimeProvider => _time;

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
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or the owner's instance id is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask RegisterOwnerAsync(CorrelationId id, RpcOwner owner, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        StoreArguments.RegisterOwner(id, owner, timeToLive);
        return RegisterOwnerCoreAsync(id, owner, timeToLive, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    public ValueTask<RpcOwner?> GetOwnerAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        StoreArguments.Id(id);
        return GetOwnerCoreAsync(id, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="instanceId"/> is null or empty.</exception>
    public ValueTask ReleaseOwnerAsync(CorrelationId id, string instanceId, CancellationToken cancellationToken)
    {
        StoreArguments.IdAndName(id, instanceId, nameof(instanceId));
        return ReleaseOwnerCoreAsync(id, instanceId, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Each append renews the time to live of the call's replies. The notification is sent after the reply is visible.</remarks>
    /// <exception cref="ArgumentException">The reply's id is empty, or <paramref name="notifyInstance"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="reply"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask StoreReplyAsync(RpcReply reply, TimeSpan timeToLive, string? notifyInstance, CancellationToken cancellationToken)
    {
        StoreArguments.StoreReply(reply, timeToLive, notifyInstance);
        return StoreReplyCoreAsync(InMemoryCopies.Copy(reply), timeToLive, notifyInstance, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    public ValueTask<IReadOnlyList<RpcReply>> GetRepliesAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        StoreArguments.Id(id);
        return GetRepliesCoreAsync(id, cancellationToken);
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
}
