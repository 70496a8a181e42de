using System;
using StackExchange.Redis;

namespace TypedRpc.Redis;

/// <summary>Turns <see cref="RedisOwnershipStoreOptions.Configuration"/> into the multiplexer's settings.</summary>
internal static class RedisConfiguration
{
    private const int DefaultConnectTimeoutMs = 5_000;
    private const int MinimumSyncTimeoutMs = 5_000;

    public static ConfigurationOptions Create(string configuration, TimeSpan operationTimeout)
    {
        var options = ConfigurationOptions.Parse(configuration);

        // The store must start while Redis is down (and connect when it comes up), never throw
        // from its first operation because the very first connect failed.
        options.AbortOnConnectFail = false;

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

        // The store makes no synchronous call, but StackExchange.Redis 1.2.6 also uses syncTimeout
        // as the response timeout: a connection with a command unanswered for longer is declared
        // dead and reconnected. Keeping it at least the operation timeout lets the store's own,
        // per-operation timeout fire first on a merely slow server.
        if (!Mentions(configuration, "syncTimeout") && !Mentions(configuration, "responseTimeout"))
        {
            options.SyncTimeout = (int)Math.Min(int.MaxValue, Math.Max(MinimumSyncTimeoutMs, Math.Ceiling(operationTimeout.TotalMilliseconds)));
        }

        return options;
    }

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
