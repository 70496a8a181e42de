using System;
using StackExchange.Redis;

namespace TypedRpc.Redis;

/// <summary>Turns <see cref="RedisOwnershipStoreOptions.Configuration"/> into the multiplexer's settings.</summary>
internal static class RedisConfiguration
{
    private const int DefaultConnectTimeoutMs = 5_000;
    private const int ReconnectBackoffMs = 100;
    private const int MaximumReconnectBackoffMs = 1_000;

    // StackExchange.Redis looks for overdue commands once per heartbeat, so a command fails up to
    // one heartbeat after its asyncTimeout; a tenth of the timeout keeps that small without
    // waking the timer more often than every 10 ms.
    private static readonly TimeSpan MinimumHeartbeat = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaximumHeartbeat = TimeSpan.FromSeconds(1);

    public static ConfigurationOptions Create(string configuration, TimeSpan operationTimeout)
    {
        var options = ConfigurationOptions.Parse(configuration);

        // The store must start while Redis is down (and connect when it comes up), never throw
        // from its first operation because the very first connect failed.
        options.AbortOnConnectFail = false;

        // Every command the store sends is bounded by the client itself: asyncTimeout is the
        // store's OperationTimeout (whatever the string says), checked often enough to be on time.
        options.AsyncTimeout = TimeoutMilliseconds(operationTimeout);
        options.HeartbeatInterval = HeartbeatFor(operationTimeout);

        // A command issued while the connection is down fails at once, as the engine expects
        // (WhenStoreUnavailable), instead of waiting in the client's backlog for a reconnect.
        options.BacklogPolicy = BacklogPolicy.FailFast;

        // After an outage the client reconnects on its retry policy's schedule; the default waits
        // half the connect timeout (2.5 s) and more between attempts, so calls would keep failing
        // for seconds after Redis answers again. Attempts from 100 ms apart, growing to at most 1 s,
        // as the Kafka clients' reconnect backoff.
        options.ReconnectRetryPolicy = new ExponentialRetry(ReconnectBackoffMs, MaximumReconnectBackoffMs);

#if STACKEXCHANGE_REDIS_2
        // 2.x reads and writes its sockets on a pool of dedicated threads by default; on the .NET
        // thread pool, as 3.x always does, a command costs ~1 context switch and ~30% CPU less
        // (2 cores, 64 commands in flight; README, Benchmarks). The price: a starved thread pool delays replies too.
        options.SocketManager = SocketManager.ThreadPool;
#endif

        // Everything the store touches stays inside its namespace (TypedRpc:Redis:Namespace), so that
        // ACLs can confine it and nothing collides with other tenants. StackExchange.Redis would also
        // read a tie-breaker key and subscribe to a configuration channel of its own
        // ("__Booksleeve_TieBreak", "__Booksleeve_MasterChanged"), both outside it; neither is needed
        // by the store (one primary, no broadcast reconfiguration), so they are off unless asked for.
        if (!Mentions(configuration, "tiebreaker"))
        {
            options.TieBreaker = string.Empty;
        }

        if (!Mentions(configuration, "configChannel"))
        {
            options.ConfigurationChannel = string.Empty;
        }

        if (!Mentions(configuration, "connectTimeout"))
        {
            options.ConnectTimeout = DefaultConnectTimeoutMs;
        }

        return options;
    }

    /// <summary>Whole milliseconds, rounded up (a positive timeout never becomes 0).</summary>
    public static int TimeoutMilliseconds(TimeSpan timeout) => (int)Math.Min(int.MaxValue, Math.Ceiling(timeout.TotalMilliseconds));

    /// <summary>The heartbeat for an operation timeout: a tenth of it, from 10 ms to 1 s.</summary>
    public static TimeSpan HeartbeatFor(TimeSpan operationTimeout) =>
        TimeSpan.FromTicks(Math.Clamp(operationTimeout.Ticks / 10, MinimumHeartbeat.Ticks, MaximumHeartbeat.Ticks));

    // Whether the configuration string sets the option itself (keys are case-insensitive).
    private static bool Mentions(string configuration, string option)
    {
        foreach (var part in configuration.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=');
            if (equals > 0 && part.AsSpan(0, equals).Trim().Equals(option, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
