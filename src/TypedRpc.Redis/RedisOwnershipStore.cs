using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using TypedRpc.Ownership;
using TypedRpc.Redis.Codec;
using TypedRpc.Transport;

namespace TypedRpc.Redis;

/// <summary>
/// The <see cref="IRpcOwnershipStore"/> on Redis, through StackExchange.Redis (2.13 or later): owner records,
/// stored replies, request claims, reply-partition leases and per-instance wake-up channels.
/// Create one per process and share it.
/// </summary>
/// <remarks>
/// <para>
/// Keys (namespace <c>ns</c>, default <c>trpc</c>; the braces are literal, Redis Cluster's hash
/// tag): <c>ns:own:{id}</c>, <c>ns:res:{id}</c>, <c>ns:claim:{id}</c>,
/// <c>ns:lease:group:partition</c>; wake-ups travel on the channel <c>ns:wake:instance</c>. Every
/// key is written together with its expiry (one command, or one script), so nothing is ever left
/// without a time to live. Steps that must be atomic are Lua scripts, loaded once per server.
/// </para>
/// <para>
/// Every operation is asynchronous and bounded by <see cref="RedisOwnershipStoreOptions.OperationTimeout"/>:
/// connecting by the store, each command by the multiplexer's own <c>asyncTimeout</c>, which a
/// multiplexer the store creates gets from it (on one the application supplies, its own applies).
/// A slower operation fails with a <see cref="TimeoutException"/> naming it; a late answer is
/// discarded. While Redis is unreachable, operations fail at once with
/// <see cref="RedisConnectionException"/> (the store's multiplexer queues nothing while
/// disconnected); StackExchange.Redis reconnects on its own (about a second after the server
/// returns) and re-subscribes the wake-up channels. Invalid arguments throw before anything is sent. A value
/// that is not in the store's format fails with <see cref="System.IO.InvalidDataException"/> naming its key.
/// </para>
/// <para>Every member is thread-safe.</para>
/// </remarks>
public sealed partial class RedisOwnershipStore : IRpcOwnershipStore, IAsyncDisposable
{
    /// <summary>
    /// The longest time to live the store writes: 100 years. Longer ones (<see cref="TimeSpan.MaxValue"/>
    /// included, which StackExchange.Redis would turn into "no expiry") are capped, so that every key
    /// still expires.
    /// </summary>
    public static readonly TimeSpan MaxTimeToLive = TimeSpan.FromDays(36_500);

    private readonly RedisKeys _keys;
    private readonly TimeSpan _timeout;
    private readonly int _wakeUpQueueCapacity;
    private readonly Func<Task<IConnectionMultiplexer>>? _connect;
    private readonly bool _ownsMultiplexer;
    private readonly ILogger _logger;

    private readonly Lock _connectLock = new();
    private Task<RedisConnection>? _connecting;
    private volatile RedisConnection? _connection;
    private int _disposed;

    /// <summary>
    /// Creates a store that connects on its first operation, with a multiplexer it creates from
    /// <see cref="RedisOwnershipStoreOptions.Configuration"/> (and disposes), or the one
    /// <see cref="RedisOwnershipStoreOptions.ConnectionMultiplexerFactory"/> supplies (and leaves open).
    /// </summary>
    /// <param name="options">The settings; read once, here.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid; the message names each problem.</exception>
    public RedisOwnershipStore(RedisOwnershipStoreOptions options)
        : this(options, logger: null)
    {
    }

    /// <summary>
    /// Creates a store as <see cref="RedisOwnershipStore(RedisOwnershipStoreOptions)"/> does, logging
    /// its connection events.
    /// </summary>
    /// <param name="options">The settings; read once, here.</param>
    /// <param name="logger">Receives connection events, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid; the message names each problem.</exception>
    public RedisOwnershipStore(RedisOwnershipStoreOptions options, ILogger<RedisOwnershipStore>? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        RedisOwnershipStoreOptionsValidator.ThrowIfInvalid(options, requireConnection: true);
        _keys = new RedisKeys(options.Namespace);
        _timeout = options.OperationTimeout;
        _wakeUpQueueCapacity = options.WakeUpQueueCapacity;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        if (options.ConnectionMultiplexerFactory is { } factory)
        {
            _connect = factory;
        }
        else
        {
            var configuration = RedisConfiguration.Create(options.Configuration!, _timeout);
            _connect = async () => await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
            _ownsMultiplexer = true;
        }
    }

    /// <summary>
    /// Creates a store over a multiplexer the caller owns (and disposes, after the store). Its
    /// settings are left as they are: its <c>asyncTimeout</c> bounds each command (keep it no
    /// longer than <see cref="RedisOwnershipStoreOptions.OperationTimeout"/>), and while it is
    /// disconnected commands wait in its backlog or fail as its <c>BacklogPolicy</c> says.
    /// </summary>
    /// <param name="multiplexer">The application's multiplexer.</param>
    /// <param name="options">The settings (<see cref="RedisOwnershipStoreOptions.Configuration"/> is ignored), or <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Receives connection events, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="multiplexer"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid; the message names each problem.</exception>
    public RedisOwnershipStore(IConnectionMultiplexer multiplexer, RedisOwnershipStoreOptions? options = null, ILogger<RedisOwnershipStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        options ??= new RedisOwnershipStoreOptions();
        RedisOwnershipStoreOptionsValidator.ThrowIfInvalid(options, requireConnection: false);
        _keys = new RedisKeys(options.Namespace);
        _timeout = options.OperationTimeout;
        _wakeUpQueueCapacity = options.WakeUpQueueCapacity;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _connection = new RedisConnection(multiplexer, owned: false, _logger);
    }

    /// <summary>The namespace every key and channel starts with.</summary>
    public string Namespace => _keys.Namespace;

    /// <summary>The bound on connecting, and on each command of a multiplexer the store created.</summary>
    public TimeSpan OperationTimeout => _timeout;

    /// <inheritdoc />
    /// <remarks>One <c>SET … PX</c>: the record and its expiry are written together.</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or the owner's instance id is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask RegisterOwnerAsync(CorrelationId id, RpcOwner owner, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentException.ThrowIfNullOrEmpty(owner.InstanceId, nameof(owner));
        var ttl = Milliseconds(timeToLive);
        var state = (Key: _keys.Owner(id), Value: RpcOwnerCodec.Encode(owner), Ttl: TimeSpan.FromMilliseconds(ttl));
        return IgnoreResult(RunAsync(
            "RegisterOwner",
            state,
            static (c, s) => c.Database.StringSetAsync(s.Key, s.Value, s.Ttl),
            cancellationToken));
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    /// <exception cref="System.IO.InvalidDataException">The stored record is not in the store's format.</exception>
    public ValueTask<RpcOwner?> GetOwnerAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        return GetOwnerCoreAsync(_keys.Owner(id), cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>A script compares the record's instance id and deletes it in one step.</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="instanceId"/> is null or empty.</exception>
    public ValueTask ReleaseOwnerAsync(CorrelationId id, string instanceId, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return IgnoreResult(EvaluateAsync(
            "ReleaseOwner",
            RedisScripts.ReleaseOwner,
            [_keys.Owner(id)],
            [RpcOwnerCodec.OwnerPrefix(instanceId)],
            cancellationToken));
    }

    /// <inheritdoc />
    /// <remarks>
    /// One script stores the message (unless its sequence is stored), renews the expiry of the
    /// call's replies and publishes the wake-up, so the woken instance always finds the message.
    /// A repeated sequence still wakes the instance: the earlier wake-up may have been lost.
    /// </remarks>
    /// <exception cref="ArgumentException">The reply's id is empty, or <paramref name="notifyInstance"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="reply"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask StoreReplyAsync(RpcReply reply, TimeSpan timeToLive, string? notifyInstance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reply);
        ThrowIfEmpty(reply.Id, nameof(reply));
        var ttl = Milliseconds(timeToLive);
        if (notifyInstance is { Length: 0 })
        {
            throw new ArgumentException("The instance to notify is empty; pass null to notify nobody.", nameof(notifyInstance));
        }

        return StoreReplyCoreAsync(reply, ttl, notifyInstance, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    /// <exception cref="System.IO.InvalidDataException">A stored message is not in the store's format.</exception>
    public ValueTask<IReadOnlyList<RpcReply>> GetRepliesAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        return GetRepliesCoreAsync(id, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One script: a missing claim is taken (holder and expiry together); a running claim answers
    /// <see cref="RpcClaimState.Running"/> to every other holder, and <see cref="RpcClaimState.Claimed"/>
    /// (renewed) to its own holder — a claim retried after a timeout may have succeeded unseen; a
    /// completed one answers <see cref="RpcClaimState.Completed"/> with its replies. A released or
    /// expired claim can be taken again. <see cref="RpcClaim.Holder"/> is set in every state
    /// (<see langword="null"/> only for a completed claim written before holders were recorded).
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    /// <exception cref="System.IO.InvalidDataException">The stored replies are not in the store's format.</exception>
    public ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        TryClaimAsync(id, holder, timeToLive, default, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// The same script, reading the request's cancel marker (<c>ns:cancel:{id}</c>, in the claim's
    /// slot) and the fingerprint field <c>f</c> of the claim first.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive, or the conditions' deadline is negative.</exception>
    /// <exception cref="System.IO.InvalidDataException">The stored replies are not in the store's format.</exception>
    public ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, RpcClaimConditions conditions, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        var ttl = Milliseconds(timeToLive);
        ArgumentOutOfRangeException.ThrowIfNegative(conditions.RequestDeadlineUnixMs, nameof(conditions));
        return TryClaimCoreAsync(id, holder, ttl, conditions, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One script sets the marker (<c>ns:cancel:{id}</c>, holding the deadline, with the given
    /// expiry) and publishes <c>id:deadline</c> (32 hex digits, a colon, the deadline in decimal)
    /// on the service's channel <c>ns:cancel:service</c>. Pub/sub keeps
    /// nothing: a server not subscribed at that moment finds out at its next claim, or stops at the
    /// request's deadline.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="service"/> is null or empty, or <paramref name="id"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="requestDeadlineUnixMs"/> or <paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> CancelAsync(string service, CorrelationId id, long requestDeadlineUnixMs, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        ThrowIfEmpty(id);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(requestDeadlineUnixMs);
        var ttl = Milliseconds(timeToLive);
        var state = (Key: _keys.Cancel(id), Channel: _keys.CancelChannel(service),
            Values: new RedisValue[] { requestDeadlineUnixMs, ttl, RedisValue.EmptyString, id.ToString() + ":" + requestDeadlineUnixMs.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return IsOne(RunAsync(
            "Cancel",
            state,
            static (c, s) =>
            {
                s.Values[2] = c.ChannelPrefix + s.Channel;
                return c.Database.ScriptEvaluateAsync(RedisScripts.Cancel.Hash, [s.Key], s.Values);
            },
            cancellationToken,
            static (c, s) => c.Database.ScriptEvaluateAsync(RedisScripts.Cancel.Text, [s.Key], s.Values)));
    }

    /// <inheritdoc />
    /// <remarks>One script compares the holder and extends the expiry.</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> RenewClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        var ttl = Milliseconds(timeToLive);
        return IsOne(EvaluateAsync("RenewClaim", RedisScripts.RenewClaim, [_keys.Claim(id)], [holder, ttl], cancellationToken));
    }

    /// <inheritdoc />
    /// <remarks>
    /// One script: written when <paramref name="holder"/> holds the claim or none is left; a claim
    /// another holder took over (this one stalled past its expiry) is left to that holder. The
    /// claim's expiry becomes <paramref name="timeToLive"/>.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, <paramref name="holder"/> is null or empty, or <paramref name="replies"/> contains null.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="replies"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> CompleteClaimAsync(CorrelationId id, string holder, IReadOnlyList<RpcReply> replies, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ArgumentNullException.ThrowIfNull(replies);
        var ttl = Milliseconds(timeToLive);
        for (var i = 0; i < replies.Count; i++)
        {
            if (replies[i] is null)
            {
                throw new ArgumentException($"Reply {i} is null.", nameof(replies));
            }

            if (replies[i].Id != id)
            {
                throw new ArgumentException($"Reply {i} belongs to call {replies[i].Id}, not {id}.", nameof(replies));
            }
        }

        return IsOne(EvaluateAsync(
            "CompleteClaim",
            RedisScripts.CompleteClaim,
            [_keys.Claim(id)],
            [holder, RpcReplyCodec.EncodeList(replies), ttl],
            cancellationToken));
    }

    /// <inheritdoc />
    /// <remarks>Does nothing when the claim is held by another holder or has completed (its replies stay).</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    public ValueTask ReleaseClaimAsync(CorrelationId id, string holder, CancellationToken cancellationToken)
    {
        ThrowIfEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        return IgnoreResult(EvaluateAsync(
            "ReleaseClaim",
            RedisScripts.ReleaseClaim,
            [_keys.Claim(id)],
            [holder],
            cancellationToken));
    }

    /// <summary>
    /// Closes the connection if the store created it (waiting at most
    /// <see cref="RedisOwnershipStoreOptions.OperationTimeout"/> for the server to acknowledge),
    /// and detaches from it otherwise. Operations started afterwards throw
    /// <see cref="ObjectDisposedException"/>. Safe to call more than once.
    /// </summary>
    /// <returns>A task that completes when closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Task<RedisConnection>? connecting;
        lock (_connectLock)
        {
            connecting = _connecting;
        }

        var connection = _connection;
        if (connection is null && connecting is { IsCompleted: false })
        {
            // A connection still being made is closed by CreateConnectionAsync, which sees the flag.
            return;
        }

        if (connection is not null)
        {
            await connection.CloseAsync(_timeout).ConfigureAwait(false);
        }
    }

    /// <summary>Makes sure a task abandoned after a timeout does not report its failure as unobserved.</summary>
    internal static void ObserveLater(Task task) =>
        task.ContinueWith(
            static t => _ = t.Exception,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    /// <summary>The connection, made on first use; for tests.</summary>
    internal ValueTask<RedisConnection> GetConnectionAsync(CancellationToken cancellationToken) =>
        _connection is { } connection ? new(connection) : ConnectAsync("Connect", cancellationToken);

    private async ValueTask<RpcOwner?> GetOwnerCoreAsync(RedisKey key, CancellationToken cancellationToken)
    {
        var value = await RunAsync("GetOwner", key, static (c, k) => c.Database.StringGetAsync(k), cancellationToken).ConfigureAwait(false);
        return value.IsNull ? null : RpcOwnerCodec.Decode(value!, key!);
    }

    private async ValueTask StoreReplyCoreAsync(RpcReply reply, long ttl, string? notifyInstance, CancellationToken cancellationToken)
    {
        // The channel needs the connection's prefix, so it is named once connected.
        var state = (
            Key: _keys.Replies(reply.Id),
            Values: new RedisValue[]
            {
                reply.Sequence, RpcReplyCodec.Encode(reply), ttl, RedisValue.EmptyString, reply.Id.ToString(),
                reply.IsEnd && reply.Status == RpcStatusCode.DeadlineExceeded ? "0" : "1",
            },
            Channel: notifyInstance is null ? null : _keys.WakeChannel(notifyInstance));
        await RunAsync(
            "StoreReply",
            state,
            static (c, s) =>
            {
                if (s.Channel is not null)
                {
                    s.Values[3] = c.ChannelPrefix + s.Channel;
                }

                return c.Database.ScriptEvaluateAsync(RedisScripts.StoreReply.Hash, [s.Key], s.Values);
            },
            cancellationToken,
            static (c, s) => c.Database.ScriptEvaluateAsync(RedisScripts.StoreReply.Text, [s.Key], s.Values)).ConfigureAwait(false);
    }

    private async ValueTask<IReadOnlyList<RpcReply>> GetRepliesCoreAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        var key = _keys.Replies(id);
        var values = await RunAsync(
            "GetReplies",
            key,
            static (c, k) => c.Database.SortedSetRangeByRankAsync(k, 0, -1, Order.Ascending),
            cancellationToken).ConfigureAwait(false);
        if (values.Length == 0)
        {
            return Array.Empty<RpcReply>();
        }

        // Scored by sequence, so Redis returns them in order.
        var replies = new RpcReply[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            replies[i] = RpcReplyCodec.Decode(values[i]!, key!, id);
        }

        return replies;
    }

    private async ValueTask<RpcClaim> TryClaimCoreAsync(CorrelationId id, string instanceId, long ttl, RpcClaimConditions conditions, CancellationToken cancellationToken)
    {
        var key = _keys.Claim(id);
        RedisValue deadline = conditions.RequestDeadlineUnixMs == 0 ? RedisValue.EmptyString : conditions.RequestDeadlineUnixMs;
        RedisValue fingerprint = conditions.Fingerprint ?? RedisValue.EmptyString;
        var result = await EvaluateAsync("TryClaim", RedisScripts.TryClaim, [key, _keys.Cancel(id)], [instanceId, ttl, deadline, fingerprint], cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[]?)result;
        if (parts is { Length: 1 } && (int)parts[0] == 4)
        {
            return new RpcClaim(RpcClaimState.Cancelled, null, Array.Empty<RpcReply>());
        }

        if (parts is null || parts.Length < 2)
        {
            throw new System.IO.InvalidDataException($"The claim script for Redis key '{key}' returned an unexpected result.");
        }

        var holder = parts[1].IsNull ? null : (string?)parts[1];
        switch ((int)parts[0])
        {
            case 0:
                return new RpcClaim(RpcClaimState.Claimed, holder, Array.Empty<RpcReply>());
            case 1:
                return new RpcClaim(RpcClaimState.Running, holder, Array.Empty<RpcReply>());
            case 3:
                return new RpcClaim(RpcClaimState.Conflict, holder, Array.Empty<RpcReply>());
            case 2 when parts.Length == 3 && (byte[]?)parts[2] is { } replies:
                return new RpcClaim(RpcClaimState.Completed, holder, RpcReplyCodec.DecodeList(replies, key!, id));
            default:
                throw new System.IO.InvalidDataException($"The claim script for Redis key '{key}' returned an unexpected result.");
        }
    }

    /// <summary>Runs a script by its hash (see <see cref="RedisScripts"/>), by its text when the server does not know the hash.</summary>
    private ValueTask<RedisResult> EvaluateAsync(string operation, RedisScript script, RedisKey[] keys, RedisValue[] values, CancellationToken cancellationToken) =>
        RunAsync(
            operation,
            (Script: script, Keys: keys, Values: values),
            static (c, s) => c.Database.ScriptEvaluateAsync(s.Script.Hash, s.Keys, s.Values),
            cancellationToken,
            static (c, s) => c.Database.ScriptEvaluateAsync(s.Script.Text, s.Keys, s.Values));

    /// <summary>
    /// Runs one Redis command (or script), connecting first if needed (within the operation
    /// timeout). The command itself is bounded by the multiplexer's <c>asyncTimeout</c>; its
    /// timeout is reported as the store's, naming the operation. A script sent by hash that the
    /// server answers <c>NOSCRIPT</c> is sent once more as <paramref name="byText"/>. The commands
    /// are static lambdas over <typeparamref name="TState"/>, so no closure is allocated per call.
    /// </summary>
    private async ValueTask<TResult> RunAsync<TState, TResult>(
        string operation,
        TState state,
        Func<RedisConnection, TState, Task<TResult>> command,
        CancellationToken cancellationToken,
        Func<RedisConnection, TState, Task<TResult>>? byText = null)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        var connection = _connection ?? await ConnectAsync(operation, cancellationToken).ConfigureAwait(false);

        // Checked again after connecting: nothing is sent for a caller that has given up.
        cancellationToken.ThrowIfCancellationRequested();
        while (true)
        {
            var task = command(connection, state);
            try
            {
                // Only a token that can fire needs WaitAsync (and what it allocates).
                return cancellationToken.CanBeCanceled
                    ? await task.WaitAsync(cancellationToken).ConfigureAwait(false)
                    : await task.ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (byText is not null && ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                // The script did not run: this server has not loaded it yet (or restarted, or its
                // cache was flushed). Given the text, StackExchange.Redis loads it first.
                command = byText;
                byText = null;
            }
            catch (RedisTimeoutException ex)
            {
                throw CommandTimedOut(connection, operation, ex);
            }
            catch (OperationCanceledException) when (!task.IsCompleted)
            {
                ObserveLater(task);
                throw;
            }
        }
    }

    private async ValueTask<RedisConnection> ConnectAsync(string operation, CancellationToken cancellationToken)
    {
        Task<RedisConnection> connecting;
        lock (_connectLock)
        {
            // A failed attempt is not cached: the next operation tries again.
            if (_connecting is null || _connecting.IsFaulted || _connecting.IsCanceled)
            {
                // Without the caller's ExecutionContext: the multiplexer's timers and threads live
                // as long as the process and must not keep the first caller's async-locals alive.
                using (ExecutionContext.SuppressFlow())
                {
                    _connecting = Task.Run(CreateConnectionAsync);
                }
            }

            connecting = _connecting;
        }

        try
        {
            return await connecting.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            ObserveLater(connecting);
            throw OperationTimedOut(operation + " (connecting)", null);
        }
        catch (OperationCanceledException) when (!connecting.IsCompleted)
        {
            ObserveLater(connecting);
            throw;
        }
    }

    private async Task<RedisConnection> CreateConnectionAsync()
    {
        var multiplexer = await _connect!().ConfigureAwait(false)
            ?? throw new InvalidOperationException($"{nameof(RedisOwnershipStoreOptions.ConnectionMultiplexerFactory)} returned null.");
        var connection = new RedisConnection(multiplexer, _ownsMultiplexer, _logger);
        _connection = connection;

        // Pairs with the Interlocked.Exchange in DisposeAsync: one of the two sees the other's
        // write, so a connection made while disposing is closed.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _disposed) != 0)
        {
            await connection.CloseAsync(_timeout).ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(RedisOwnershipStore));
        }

        return connection;
    }

    private TimeoutException OperationTimedOut(string operation, Exception? inner) =>
        new($"The Redis operation {operation} did not complete within {_timeout.TotalMilliseconds:0} ms "
            + $"({RedisOwnershipStoreOptions.SectionName}:{nameof(RedisOwnershipStoreOptions.OperationTimeout)}); Redis is slow or unreachable.", inner);

    private static TimeoutException CommandTimedOut(RedisConnection connection, string operation, RedisTimeoutException inner) =>
        new($"The Redis operation {operation} did not complete within {connection.CommandTimeout.TotalMilliseconds:0} ms ("
            + (connection.Owned
                ? $"{RedisOwnershipStoreOptions.SectionName}:{nameof(RedisOwnershipStoreOptions.OperationTimeout)}"
                : "the asyncTimeout of the application's multiplexer")
            + "); Redis is slow or unreachable.", inner);

    private static async ValueTask IgnoreResult<T>(ValueTask<T> operation) => await operation.ConfigureAwait(false);

    private static async ValueTask<bool> IsOne(ValueTask<RedisResult> operation) => (long)await operation.ConfigureAwait(false) == 1;

    // Redis expiries are whole milliseconds; a positive span below one rounds up, never to 0
    // (which Redis refuses, or would treat as "expire now").
    private static long Milliseconds(TimeSpan timeToLive, string parameterName = "timeToLive")
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero, parameterName);
        if (timeToLive > MaxTimeToLive)
        {
            timeToLive = MaxTimeToLive;
        }

        var ms = timeToLive.Ticks / TimeSpan.TicksPerMillisecond;
        return timeToLive.Ticks % TimeSpan.TicksPerMillisecond == 0 ? ms : ms + 1;
    }

    private static void ThrowIfEmpty(CorrelationId id, string parameterName = "id")
    {
        if (id.IsEmpty)
        {
            throw new ArgumentException("The correlation id is empty.", parameterName);
        }
    }
}
