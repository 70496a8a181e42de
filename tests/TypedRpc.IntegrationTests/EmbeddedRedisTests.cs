using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;
using TypedRpc.DevServices;
using TypedRpc.IntegrationTests.Support;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// <see cref="EmbeddedRedis"/> itself: it serves the Redis protocol with scripts, stops on dispose
/// (once, however often and from however many threads it is called), and finds another port when
/// its port is taken. The store's behaviour on it is checked by the <c>…OnGarnetTests</c> classes.
/// </summary>
public sealed class EmbeddedRedisTests
{
    [Fact]
    public async Task ItServesRedisWithScripts_OnItsLoopbackPort_UntilDisposed()
    {
        var redis = new EmbeddedRedis();
        try
        {
            Assert.Equal($"127.0.0.1:{redis.Port}", redis.Configuration);
            await using var admin = await RedisAdmin.ConnectAsync(redis.Configuration);
            Assert.Equal("PONG", (string?)await admin.ExecuteAsync("PING"));
            var fields = await admin.Database.ScriptEvaluateAsync("return redis.call('HSET', KEYS[1], 'a', '1', 'b', '2')", [(RedisKey)"h"]);
            Assert.Equal(2L, (long)fields);
        }
        finally
        {
            redis.Dispose();
        }

        using var client = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => client.ConnectAsync(IPAddress.Loopback, redis.Port));
    }

    [Fact]
    public void Dispose_CanBeCalledAgain_AndFromSeveralThreadsAtOnce()
    {
        // Garnet's own Dispose throws when called a second time; these calls must all return quietly.
        var redis = new EmbeddedRedis();
        var failures = 0;
        using var start = new Barrier(4);
        var threads = new Thread[4];
        for (var i = 0; i < threads.Length; i++)
        {
            threads[i] = new Thread(() =>
            {
                start.SignalAndWait();
                try
                {
                    redis.Dispose();
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            });
            threads[i].Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        redis.Dispose();
        Assert.Equal(0, failures);
    }

    [Fact]
    public async Task APortTakenBeforeGarnetBindsIt_IsGivenUpForAnother()
    {
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            var takenPort = ((IPEndPoint)taken.LocalEndpoint).Port;
            var asked = 0;
            using var redis = new EmbeddedRedis(null, () => ++asked == 1 ? takenPort : LoopbackPort.Free());
            Assert.Equal(2, asked);
            Assert.NotEqual(takenPort, redis.Port);
            await using var admin = await RedisAdmin.ConnectAsync(redis.Configuration);
            Assert.Equal("PONG", (string?)await admin.ExecuteAsync("PING"));
        }
        finally
        {
            taken.Stop();
        }
    }

    [Fact]
    public void WhenEveryPortItTriesIsTaken_ItFailsSayingSo()
    {
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            var takenPort = ((IPEndPoint)taken.LocalEndpoint).Port;
            var asked = 0;
            var error = Assert.Throws<InvalidOperationException>(() => new EmbeddedRedis(null, () => { asked++; return takenPort; }));
            Assert.Equal(5, asked);
            Assert.Contains($"Garnet {EmbeddedRedis.GarnetVersion} could not start", error.Message, StringComparison.Ordinal);
            Assert.Contains("taken", error.Message, StringComparison.Ordinal);
            Assert.NotNull(error.InnerException);
        }
        finally
        {
            taken.Stop();
        }
    }

}
