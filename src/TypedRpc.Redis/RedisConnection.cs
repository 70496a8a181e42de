using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace TypedRpc.Redis;

/// <summary>
/// The multiplexer a store uses, with the database and subscriber taken from it once, the settings
/// of it the store depends on (the channel prefix scripts must add themselves, the command
/// timeout), and connection logging.
/// </summary>
internal sealed class RedisConnection
{
    private readonly ILogger _logger;
    private int _closed;

    public RedisConnection(IConnectionMultiplexer multiplexer, bool owned, ILogger logger)
    {
        Multiplexer = multiplexer;
        Owned = owned;
        Database = multiplexer.GetDatabase();
        Subscriber = multiplexer.GetSubscriber();
        var configuration = ReadConfiguration(multiplexer);
        ChannelPrefix = (string?)configuration?.ChannelPrefix ?? string.Empty;
        CommandTimeout = TimeSpan.FromMilliseconds(configuration?.AsyncTimeout ?? multiplexer.TimeoutMilliseconds);
        _logger = logger;
        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
    }

    public IConnectionMultiplexer Multiplexer { get; }

    public bool Owned { get; }

    public IDatabase Database { get; }

    public ISubscriber Subscriber { get; }

    /// <summary>
    /// The multiplexer's <c>channelPrefix</c>: SUBSCRIBE and PUBLISH sent through the subscriber
    /// get it added, a PUBLISH inside a script does not, so scripts are given the full name.
    /// </summary>
    public string ChannelPrefix { get; }

    /// <summary>
    /// The multiplexer's <c>asyncTimeout</c>, after which it fails an awaited command with a
    /// timeout: the store's <see cref="RedisOwnershipStoreOptions.OperationTimeout"/> on a
    /// multiplexer the store created, the application's choice on one it supplied.
    /// </summary>
    public TimeSpan CommandTimeout { get; }

    /// <summary>Detaches from the multiplexer and, when the store created it, closes it. Runs once; never throws.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        Multiplexer.ConnectionFailed -= OnConnectionFailed;
        Multiplexer.ConnectionRestored -= OnConnectionRestored;
        if (!Owned)
        {
            return;
        }

        var closing = Multiplexer.CloseAsync(allowCommandsToComplete: true);
        try
        {
            // CloseAsync sends QUIT and waits for the answers; a hung server must not hang disposal.
            await closing.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            RedisOwnershipStore.ObserveLater(closing);
            RedisLog.CloseFailed(_logger, ex);
        }
        finally
        {
            // CloseAsync marked the multiplexer disposed, so Dispose only releases the sockets and
            // the socket manager: it sends nothing and waits for nothing.
            Multiplexer.Dispose();
        }
    }

    private static ConfigurationOptions? ReadConfiguration(IConnectionMultiplexer multiplexer)
    {
        try
        {
            return ConfigurationOptions.Parse(multiplexer.Configuration, ignoreUnknown: true);
        }
        catch (ArgumentException)
        {
            // A configuration the multiplexer itself printed should always parse; if it does not,
            // assume no prefix (the common case) and the sync timeout rather than refusing to work.
            return null;
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) =>
        RedisLog.ConnectionFailed(_logger, e.Exception, e.EndPoint?.ToString() ?? "?", e.ConnectionType.ToString(), e.FailureType.ToString());

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) =>
        RedisLog.ConnectionRestored(_logger, e.EndPoint?.ToString() ?? "?", e.ConnectionType.ToString());
}
