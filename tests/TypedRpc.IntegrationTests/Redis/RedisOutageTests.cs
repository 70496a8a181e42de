using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Tasks;
using StackExchange.Redis;
using TypedRpc.DevServices;
using TypedRpc.IntegrationTests.Support;
using TypedRpc.Ownership;
using TypedRpc.Redis;
using Xunit;
using Xunit.Abstractions;
using static TypedRpc.IntegrationTests.Support.TestData;
using static TypedRpc.Tests.Shared.StoreTestData;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>
/// A slow, stopped and restarted server. Each test starts a redis-server of its own (the shared
/// one is never disturbed), so these need redis-server installed even when TYPEDRPC_REDIS is set.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisOutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task SlowServer_OperationsTimeOutWithinTheBound_NamingTheOperation()
    {
        await using var server = await LocalRedisServer.StartAsync();
        await using var admin = await RedisAdmin.ConnectAsync(server.Configuration);
        await using var store = NewStore(server, ShortTimeout);
        var id = CorrelationId.NewId();
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "a", Ttl, default)).State);

        // Every other client's commands wait until the pause ends: a server that accepts commands
        // but does not answer them. The bound is the client's asyncTimeout, which the store sets.
        await admin.ExecuteAsync("CLIENT", "PAUSE", "1500");
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<TimeoutException>(() => store.TryClaimAsync(id, "b", Ttl, default).AsTask());
        var elapsed = clock.Elapsed;
        output.WriteLine($"TryClaim against a paused server failed after {elapsed.TotalMilliseconds:0} ms: {error.Message}");
        Assert.Contains("TryClaim", error.Message, StringComparison.Ordinal);
        Assert.Contains("TypedRpc:Redis:OperationTimeout", error.Message, StringComparison.Ordinal);
        Assert.InRange(elapsed, ShortTimeout - TimeSpan.FromMilliseconds(20), ShortTimeout + TimeSpan.FromMilliseconds(500));

        clock.Restart();
        await Assert.ThrowsAsync<TimeoutException>(() => store.GetRepliesAsync(id, default).AsTask());
        Assert.True(clock.Elapsed < ShortTimeout + TimeSpan.FromMilliseconds(500));

        // Once the server answers again, so does the store (the abandoned commands' late answers are dropped).
        await Eventually(async () => await Succeeds(() => store.GetOwnerAsync(id, default).AsTask()), "the store to answer after the pause");
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "c", Ttl, default)).State);
    }

    [Fact]
    public async Task SlowServer_OnASuppliedMultiplexer_ItsOwnAsyncTimeoutBoundsTheOperation()
    {
        await using var server = await LocalRedisServer.StartAsync();
        await using var admin = await RedisAdmin.ConnectAsync(server.Configuration);
        var settings = ConfigurationOptions.Parse(server.Configuration);
        settings.AsyncTimeout = (int)ShortTimeout.TotalMilliseconds;
        settings.HeartbeatInterval = TimeSpan.FromMilliseconds(20);
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(settings);
        try
        {
            // The store's own OperationTimeout is longer: the application's setting is the one that holds.
            await using var store = new RedisOwnershipStore(multiplexer, new RedisOwnershipStoreOptions
            {
                Namespace = RedisServerFixture.NewNamespace(),
                OperationTimeout = TimeSpan.FromSeconds(5),
            });
            var id = CorrelationId.NewId();
            await store.RegisterOwnerAsync(id, Owner("a"), Ttl, default);

            await admin.ExecuteAsync("CLIENT", "PAUSE", "1500");
            var clock = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<TimeoutException>(() => store.GetOwnerAsync(id, default).AsTask());
            output.WriteLine($"GetOwner on a supplied multiplexer failed after {clock.Elapsed.TotalMilliseconds:0} ms: {error.Message}");
            Assert.Contains("GetOwner", error.Message, StringComparison.Ordinal);
            Assert.Contains("the asyncTimeout of the application's multiplexer", error.Message, StringComparison.Ordinal);
            // Under the pause's 1.5 s (so the command did not just wait it out) and far under the
            // store's 5 s; the client library's timeout check may come a few hundred ms late on a loaded machine.
            Assert.InRange(clock.Elapsed, ShortTimeout - TimeSpan.FromMilliseconds(20), ShortTimeout + TimeSpan.FromMilliseconds(900));
        }
        finally
        {
            await multiplexer.CloseAsync(allowCommandsToComplete: false);
            multiplexer.Dispose();
        }
    }

    [Fact]
    public async Task StoppedServer_OperationsFailFast_ThenSucceedSoonAfterItReturns_WakeUpsIncluded()
    {
        await using var server = await LocalRedisServer.StartAsync();
        await using var store = NewStore(server, TimeSpan.FromSeconds(1));
        await using var publisher = NewStore(server, TimeSpan.FromSeconds(1), store.Namespace);
        var woken = new ConcurrentQueue<CorrelationId>();
        await using var subscription = await store.SubscribeWakeUpsAsync("owner", id => { woken.Enqueue(id); return default; }, default);
        var before = CorrelationId.NewId();
        await store.RegisterOwnerAsync(before, Owner("owner"), Ttl, default);
        await store.TryClaimAsync(before, "a", Ttl, default);

        await server.StopAsync();
        var operations = new Func<Task>[]
        {
            () => store.GetOwnerAsync(before, default).AsTask(),
            () => store.TryClaimAsync(CorrelationId.NewId(), "a", Ttl, default).AsTask(),
            () => store.StoreReplyAsync(Reply(before, 0), Ttl, "owner", default).AsTask(),
            () => store.NotifyAsync("owner", before, default).AsTask(),
            () => store.Leases.TryAcquireAsync("g", 0, "a", Ttl, default).AsTask(),
        };

        // Down for a while: every kind of operation keeps failing at once, none hangs.
        var down = Stopwatch.StartNew();
        var slowest = TimeSpan.Zero;
        var failures = 0;
        while (down.Elapsed < TimeSpan.FromSeconds(1.5))
        {
            foreach (var operation in operations)
            {
                var clock = Stopwatch.StartNew();
                var error = await Assert.ThrowsAnyAsync<Exception>(operation);
                Assert.True(error is RedisConnectionException or TimeoutException, error.ToString());
                slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
                failures++;
            }

            await Task.Delay(50);
        }

        output.WriteLine($"while down: {failures} operations failed, the slowest after {slowest.TotalMilliseconds:0.0} ms");
        Assert.True(slowest < TimeSpan.FromSeconds(1.2), $"an operation took {slowest} to fail");

        var subscribeError = await Assert.ThrowsAnyAsync<Exception>(() => store.SubscribeWakeUpsAsync("other", _ => default, default).AsTask());
        Assert.True(subscribeError is InvalidOperationException or RedisConnectionException or TimeoutException, subscribeError.ToString());

        // Back: the server is new and empty (no persistence), its script cache too.
        await server.StartAgainAsync();
        var back = Stopwatch.StartNew();
        var after = CorrelationId.NewId();
        await Eventually(async () => await Succeeds(() => store.TryClaimAsync(after, "a", Ttl, default).AsTask()), "a script to run after the restart");
        var firstSuccess = back.Elapsed;

        // The wake-up channel was subscribed again without anyone asking.
        var notified = CorrelationId.NewId();
        await Eventually(
            async () =>
            {
                await Succeeds(() => publisher.StoreReplyAsync(Reply(notified, 0), Ttl, "owner", default).AsTask());
                return Array.IndexOf(woken.ToArray(), notified) >= 0;
            },
            "a wake-up after the restart");
        var wakeUps = back.Elapsed;
        output.WriteLine($"after restart: first operation succeeded after {firstSuccess.TotalMilliseconds:0} ms, first wake-up after {wakeUps.TotalMilliseconds:0} ms");

        Assert.True(firstSuccess < TimeSpan.FromSeconds(3), $"first success after {firstSuccess}");
        Assert.True(wakeUps < TimeSpan.FromSeconds(3), $"first wake-up after {wakeUps}");
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(after, "b", Ttl, default)).State);
    }

    [Fact]
    public async Task ServerNeverUp_OperationsFailWithinTheBound_UntilItComesUp()
    {
        var server = await LocalRedisServer.StartAsync();
        await server.StopAsync();
        try
        {
            // The first connection attempt against a dead port may take the whole connectTimeout
            // to give up; a short one here keeps the test short, and shows the string's own
            // setting is honoured.
            await using var store = new RedisOwnershipStore(new RedisOwnershipStoreOptions
            {
                Configuration = server.Configuration + ",connectTimeout=1000",
                Namespace = RedisServerFixture.NewNamespace(),
                OperationTimeout = ShortTimeout,
            });

            for (var i = 0; i < 3; i++)
            {
                var clock = Stopwatch.StartNew();
                var error = await Assert.ThrowsAnyAsync<Exception>(() => store.GetOwnerAsync(CorrelationId.NewId(), default).AsTask());
                output.WriteLine($"never up: {error.GetType().Name} after {clock.Elapsed.TotalMilliseconds:0} ms");
                Assert.True(error is RedisConnectionException or TimeoutException, error.ToString());
                Assert.True(clock.Elapsed < ShortTimeout + TimeSpan.FromMilliseconds(500), $"took {clock.Elapsed}");
            }

            await server.StartAgainAsync();
            var back = Stopwatch.StartNew();
            await Eventually(async () => await Succeeds(() => store.GetOwnerAsync(CorrelationId.NewId(), default).AsTask()), "the late connection");
            output.WriteLine($"never up: first success {back.Elapsed.TotalMilliseconds:0} ms after the server started");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static RedisOwnershipStore NewStore(LocalRedisServer server, TimeSpan timeout, string? ns = null) => new(new RedisOwnershipStoreOptions
    {
        Configuration = server.Configuration,
        Namespace = ns ?? RedisServerFixture.NewNamespace(),
        OperationTimeout = timeout,
    });

    private static async Task<bool> Succeeds(Func<Task> operation)
    {
        try
        {
            await operation();
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
        {
            return false;
        }
    }
}
