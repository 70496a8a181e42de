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
/// The <see cref="IRpcOwnershipStore"/> and <see cref="IRpcClaimStore"/> on Redis, through StackExchange.Redis
/// (2.13 or later): owner records, stored replies, per-instance wake-up channels, request claims and
/// cancellations, and named leases (<see cref="Leases"/>).
/// Create one per process and share it.
/// </summary>
/// <remarks>
/// Every operation is asynchronous and bounded by <see cref="RedisOwnershipStoreOptions.OperationTimeout"/>:
/// a slower one fails with a <see cref="TimeoutException"/> naming it (a late answer is discarded).
/// While Redis is unreachable, a multiplexer the store created fails operations at once with
/// <see cref="RedisConnectionException"/>, and reconnects and re-subscribes on its own. Invalid
/// arguments throw before anything is sent; a stored value not in the store's format fails with
/// <see cref="System.IO.InvalidDataException"/> naming its key. Every member is thread-safe.
/// </remarks>
public sealed partial class RedisOwnershipStore : IRpcOwnershipStore, IRpcClaimStore, IAsyncDisposable
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
        Leases = new RedisLeases(this, _keys);
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
        Leases = new RedisLeases(this, _keys);
        _timeout = options.OperationTimeout;
        _wakeUpQueueCapacity = options.WakeUpQueueCapacity;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _connection = new RedisConnection(multiplexer, owned: false, _logger);
    }

    /// <summary>The namespace every key and channel starts with.</summary>
    public string Namespace => _keys.Namespace;

    /// <summary>The bound on connecting, and on each command of a multiplexer the store created.</summary>
    public TimeSpan OperationTimeout => _timeout;

    /// <summary>
    /// Named leases kept in this store's Redis, under its namespace: what a transport uses to
    /// share out its reply partitions between instances.
    /// </summary>
    public RedisLeases Leases { get; }

    /// <inheritdoc />
    /// <remarks>One <c>SET … PX</c>: the record and its expiry are written together.</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or the owner's instance id is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask RegisterOwnerAsync(CorrelationId id, RpcOwner owner, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        StoreArguments.RegisterOwner(id, owner, timeToLive);
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
        StoreArguments.Id(id);
        return GetOwnerCoreAsync(_keys.Owner(id), cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>A script compares the record's instance id and deletes it in one step.</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="instanceId"/> is null or empty.</exception>
    public ValueTask ReleaseOwnerAsync(CorrelationId id, string instanceId, CancellationToken cancellationToken)
    {
        StoreArguments.IdAndName(id, instanceId, nameof(instanceId));
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
        StoreArguments.StoreReply(reply, timeToLive, notifyInstance);
        return StoreReplyCoreAsync(reply, Milliseconds(timeToLive), notifyInstance, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    /// <exception cref="System.IO.InvalidDataException">A stored message is not in the store's format.</exception>
    public ValueTask<IReadOnlyList<RpcReply>> GetRepliesAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        StoreArguments.Id(id);
        return GetRepliesCoreAsync(id, cancellationToken);
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
}
