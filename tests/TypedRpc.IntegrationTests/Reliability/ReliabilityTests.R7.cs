using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;
using TypedRpc.IntegrationTests.Support;
using Xunit;

namespace TypedRpc.IntegrationTests.Reliability;

public sealed partial class ReliabilityTests
{
    // One SCAN page under a prefix: the next cursor, the keys on the page and those without an expiry.
    // A page per script keeps each one short (a single pass over a million keys blocked Redis, and
    // the test's client, for more than 5 s); the test drives the cursor.
    private const string CountKeysWithoutTtlPage = """
        local page = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', 10000)
        local without = 0
        for _, key in ipairs(page[2]) do
          if redis.call('PTTL', key) < 0 then without = without + 1 end
        end
        return {page[1], #page[2], without}
        """;

    /// <summary>
    /// Calls that all time out: the handler takes longer than every caller waits, so each call ends
    /// DeadlineExceeded on the caller while its request is claimed, cut off or skipped as expired on
    /// the server, and a reply that still comes is stored as late. One in ten carries an
    /// idempotency key. Afterwards no client has a pending call and every Redis key the run wrote
    /// expires by itself.
    /// </summary>
    [Fact]
    public async Task R7_AMillionCallsTimeOut_PendingTableEndsEmpty_EveryRedisKeyHasATtl()
    {
        var calls = ReliabilitySize.Pick(1_000_000, 20_000);
        await using var cluster = new ReliabilityCluster(redis.Configuration);
        await cluster.StartAsync(client: false, server: true);
        var clients = new[]
        {
            await cluster.StartAsync(client: true, server: false),
            await cluster.StartAsync(client: true, server: false),
        };
        await cluster.WaitForServersAsync(Settle);
        await WarmUpAsync(clients);

        var timeout = TimeSpan.FromMilliseconds(100);
        var outcomes = new CallOutcomes();
        var lateness = new double[calls];
        var issued = -1;
        var clock = Stopwatch.StartNew();
        var load = Task.WhenAll(Enumerable.Range(0, 2_000).Select(w => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref issued)) < calls)
            {
                var options = RpcCallOptions.Default.WithTimeout(timeout);
                if (n % 10 == 0)
                {
                    options = options.WithIdempotencyKey("r7-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }

                var started = Stopwatch.GetTimestamp();
                Exception? error = null;
                try
                {
                    await Service(clients[n % clients.Length]).ProcessAsync(250, options);
                }
                catch (Exception ex)
                {
                    error = ex;
                }

                var elapsed = Stopwatch.GetElapsedTime(started);
                lateness[n] = elapsed.TotalMilliseconds - timeout.TotalMilliseconds;
                outcomes.Record(error, elapsed, timeout, TimeSpan.FromSeconds(2));
                if (n % 100_000 == 99_999)
                {
                    Print("R7", $"{n + 1} calls in {clock.Elapsed.TotalSeconds:0} s");
                }
            }
        })));
        await load;
        var elapsed = clock.Elapsed;

        var pending = clients.Select(c => ((RpcClient)c.GetService(typeof(RpcClient))!).PendingCount).ToArray();
        Array.Sort(lateness);
        await using var admin = await RedisAdmin.ConnectAsync(redis.Configuration);
        var scan = Stopwatch.StartNew();
        var counts = await CountKeysAsync(admin, cluster.Settings.Namespace + ":*");
        Print("R7", $"{calls} calls in {elapsed.TotalSeconds:0.0} s ({calls / elapsed.TotalSeconds:0} calls/s), timeout {timeout.TotalMilliseconds:0} ms; outcomes: {outcomes}");
        Print("R7", $"timeouts fired late by p50 {Pct(lateness, 50):0.0} ms, p99 {Pct(lateness, 99):0.0} ms, max {Pct(lateness, 100):0} ms; pending calls after: {string.Join(" + ", pending)}; "
            + $"Redis keys of the run: {counts.Total}, without a TTL: {counts.WithoutTtl} (counted in {scan.ElapsedMilliseconds} ms); "
            + $"replies stored as late: {_metrics["typedrpc.client.replies.stored[reason=late]"]}, unknown: {_metrics["typedrpc.client.replies.stored[reason=unknown]"]}");

        Assert.Empty(outcomes.Unexplained);
        Assert.Equal(calls, outcomes.Count(RpcStatusCode.DeadlineExceeded));
        Assert.Equal(0, outcomes.Late);
        Assert.All(pending, p => Assert.Equal(0, p));
        Assert.True(counts.Total > 0, "The run wrote no Redis keys: the check would prove nothing.");
        Assert.Equal(0, counts.WithoutTtl);
    }

    private static async Task<(long Total, long WithoutTtl)> CountKeysAsync(RedisAdmin admin, string pattern)
    {
        long total = 0, without = 0;
        var cursor = "0";
        do
        {
            var page = (RedisResult[]?)await admin.Database.ScriptEvaluateAsync(CountKeysWithoutTtlPage, values: [cursor, pattern])
                ?? throw new InvalidOperationException("The key count script returned nil.");
            cursor = (string?)page[0] ?? throw new InvalidOperationException("The key count script returned no cursor.");
            total += (long)page[1];
            without += (long)page[2];
        }
        while (cursor != "0");
        return (total, without);
    }
}
