using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace TypedRpc.IntegrationTests.Support;

/// <summary>
/// A separate connection the tests use to look at (and damage) what the store wrote, with admin
/// commands allowed. Every call is bounded, like the store's, so a broken server fails a test
/// instead of hanging it.
/// </summary>
internal sealed class RedisAdmin : IAsyncDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    private RedisAdmin(ConnectionMultiplexer multiplexer)
    {
        Multiplexer = multiplexer;
        Database = multiplexer.GetDatabase();
    }

    public ConnectionMultiplexer Multiplexer { get; }

    public IDatabase Database { get; }

    public static async Task<RedisAdmin> ConnectAsync(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AllowAdmin = true;
        options.AbortOnConnectFail = false;
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(Limit);
        return new RedisAdmin(multiplexer);
    }

    public Task<RedisResult> ExecuteAsync(string command, params object[] args) => Database.ExecuteAsync(command, args).WaitAsync(Limit);

    /// <summary>Every key matching <paramref name="pattern"/>, through SCAN (never KEYS).</summary>
    public async Task<List<string>> ScanAsync(string pattern)
    {
        var keys = new List<string>();
        var cursor = "0";
        do
        {
            var page = (RedisResult[]?)await ExecuteAsync("SCAN", cursor, "MATCH", pattern, "COUNT", 1000) ?? throw new InvalidOperationException("SCAN returned nil.");
            cursor = (string?)page[0] ?? throw new InvalidOperationException("SCAN returned no cursor.");
            foreach (var key in (string?[]?)page[1] ?? [])
            {
                keys.Add(key ?? throw new InvalidOperationException("SCAN returned a nil key."));
            }
        }
        while (cursor != "0");
        return keys;
    }

    public async Task<long> PttlAsync(string key) => (long)await ExecuteAsync("PTTL", key);

    /// <summary>How many connections are subscribed to <paramref name="channel"/> (PUBSUB NUMSUB).</summary>
    public async Task<long> SubscribersAsync(string channel)
    {
        var result = (RedisResult[]?)await ExecuteAsync("PUBSUB", "NUMSUB", channel) ?? throw new InvalidOperationException("PUBSUB NUMSUB returned nil.");
        return (long)result[1];
    }

    /// <summary>The number of calls of one command since the server started (INFO commandstats).</summary>
    public async Task<long> CommandCallsAsync(string command)
    {
        var info = (string?)await ExecuteAsync("INFO", "commandstats") ?? string.Empty;
        var prefix = "cmdstat_" + command + ":calls=";
        foreach (var line in info.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                var end = line.IndexOf(',', prefix.Length);
                return long.Parse(line.AsSpan(prefix.Length, end - prefix.Length), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Multiplexer.CloseAsync(allowCommandsToComplete: false).WaitAsync(Limit);
        }
        finally
        {
            Multiplexer.Dispose();
        }
    }
}
