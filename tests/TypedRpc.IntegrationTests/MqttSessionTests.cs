using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Mqtt;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// What MQTT sessions keep when an instance or the broker goes away: a server restarted under the
/// same instance id gets back the requests it held and those queued for it, a server stopping hands
/// its unfinished requests to the other members, and a broker restart is survived.
/// </summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class MqttSessionTests(MosquittoFixture broker, Redis.RedisServerFixture redis)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);


    [Fact]
    public async Task AServerRestartedUnderItsId_GetsBackTheRequestItHeld_AndThoseQueuedWhileItWasDown()
    {
        var ns = Redis.RedisServerFixture.NewNamespace();
        await using var cluster = new MqttCluster(broker, () => redis.CreateStore(ns), ns);
        var serverId = cluster.Name + "-server";
        var server = await cluster.StartAsync(client: false, server: true, instanceId: serverId, configure: MqttCluster.FastClaims);
        var client = await cluster.StartAsync(client: true, server: false);
        var service = client.GetRequiredService<IIntegrationService>();
        Assert.Equal(serverId, await service.WorkAsync(0, RpcCallOptions.Default));

        var held = service.WorkAsync(1_000, RpcCallOptions.Default.WithTimeout(Bound));
        await WaitUntil(() => cluster.State.Executions.Count >= 2);
        await cluster.CrashAsync(server);
        // Published while no server is connected: the broker queues it in the server's session.
        var queued = service.WorkAsync(0, RpcCallOptions.Default.WithTimeout(Bound));
        await Task.Delay(300);
        Assert.False(queued.IsCompleted);

        await cluster.StartAsync(client: false, server: true, instanceId: serverId, configure: MqttCluster.FastClaims);

        Assert.Equal(serverId, await held.WaitAsync(Bound));
        Assert.Equal(serverId, await queued.WaitAsync(Bound));
    }

    [Fact]
    public async Task AServerThatDiesForGood_ItsRequestsArePublishedAgain_AndTheOtherMemberRunsThem()
    {
        var ns = Redis.RedisServerFixture.NewNamespace();
        await using var cluster = new MqttCluster(broker, () => redis.CreateStore(ns), ns) { RepublishUnclaimedAfter = TimeSpan.FromMilliseconds(500) };
        var dyingId = cluster.Name + "-dying";
        var survivorId = cluster.Name + "-survivor";
        var dying = await cluster.StartAsync(client: false, server: true, instanceId: dyingId, configure: MqttCluster.FastClaims);
        var client = await cluster.StartAsync(client: true, server: false);
        var service = client.GetRequiredService<IIntegrationService>();
        Assert.Equal(dyingId, await service.WorkAsync(0, RpcCallOptions.Default));

        // Running on the member when it dies (the only member then), and twenty sent after: the
        // broker keeps about half of those in the dead member's session, where nobody reads them.
        var running = service.WorkAsync(2_000, RpcCallOptions.Default.WithTimeout(Bound));
        await WaitUntil(() => cluster.State.ByServer.GetValueOrDefault(dyingId) >= 2);
        await cluster.StartAsync(client: false, server: true, instanceId: survivorId, configure: MqttCluster.FastClaims);
        await cluster.CrashAsync(dying);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var after = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => service.WorkAsync(0, RpcCallOptions.Default.WithTimeout(Bound))));

        Assert.All(after, server => Assert.Equal(survivorId, server));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"the queued requests took {watch.Elapsed} (published again every 0.5 s)");
        Assert.Contains(await running.WaitAsync(Bound), new[] { dyingId, survivorId });
        // Each of the twenty ran once: the copies published again met the claims of the first run.
        Assert.Equal(20, cluster.State.ByServer.GetValueOrDefault(survivorId) - (cluster.State.Executions.Values.Count(v => v > 1)));
        Assert.Equal(0, client.GetRequiredService<MqttRpcTransport>().UnansweredRequests);
    }

    [Fact]
    public async Task ACallerThatDiesWithACallRunning_ItsResultIsFetchedByIdOnAnotherInstance()
    {
        var ns = Redis.RedisServerFixture.NewNamespace();
        await using var cluster = new MqttCluster(broker, () => redis.CreateStore(ns), ns);
        await cluster.StartAsync(client: false, server: true);
        var dying = await cluster.StartAsync(client: true, server: false);
        var other = await cluster.StartAsync(client: true, server: false);
        var results = other.GetRequiredService<IRpcResults>();

        // A call the dying caller cannot see end: its reply goes to a reply topic nobody reads any more.
        var call = dying.GetRequiredService<IIntegrationService>().WorkAsync(1_500, RpcCallOptions.Default.WithTimeout(TimeSpan.FromMilliseconds(500)));
        var pending = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(RpcStatusCode.DeadlineExceeded, pending.StatusCode);
        await cluster.CrashAsync(dying);

        var late = await results.WaitAsync<string>(pending.CorrelationId!, Bound);
        Assert.True(late.IsCompleted, late.ToString());
        Assert.Equal(1, cluster.State.Executions[pending.CorrelationId!]);
    }

    [Fact]
    public async Task AServerStoppingWithARequestRunning_HandsItToAnotherMember()
    {
        var ns = Redis.RedisServerFixture.NewNamespace();
        await using var cluster = new MqttCluster(broker, () => redis.CreateStore(ns), ns);
        var first = await cluster.StartAsync(client: false, server: true, instanceId: cluster.Name + "-a",
            configure: o => { MqttCluster.FastClaims(o); o.ShutdownDrainTimeout = TimeSpan.FromMilliseconds(200); });
        var client = await cluster.StartAsync(client: true, server: false);
        var service = client.GetRequiredService<IIntegrationService>();
        Assert.Equal(cluster.Name + "-a", await service.WorkAsync(0, RpcCallOptions.Default));

        // Taken by the only member; longer than its stop (the transport's 2 s close timeout, the
        // engine's 200 ms drain), so it is cut off there and must finish on the member started after it.
        var running = service.WorkAsync(6_000, RpcCallOptions.Default.WithTimeout(Bound));
        await WaitUntil(() => cluster.State.ByServer.GetValueOrDefault(cluster.Name + "-a") >= 2);
        await cluster.StartAsync(client: false, server: true, instanceId: cluster.Name + "-b", configure: MqttCluster.FastClaims);
        await cluster.StopAsync(first);

        Assert.Equal(cluster.Name + "-b", await running.WaitAsync(Bound));
    }

    [Fact]
    public async Task TheBrokerRestarted_CallsWorkAgainOnceTheInstancesReconnect()
    {
        var own = await MosquittoFixture.StartLocalAsync();
        try
        {
            var ns = Redis.RedisServerFixture.NewNamespace();
            await using var cluster = new MqttCluster(own, () => redis.CreateStore(ns), ns);
            await cluster.StartAsync(client: false, server: true);
            var client = await cluster.StartAsync(client: true, server: false);
            var service = client.GetRequiredService<IIntegrationService>();
            Assert.Equal(5, await service.AddAsync(2, 3));

            // Without persistence the broker forgets every session: the instances reconnect and subscribe again.
            await own.Local!.StopAsync();
            await own.Local.StartAgainAsync();

            var until = DateTime.UtcNow + Bound;
            while (true)
            {
                try
                {
                    await service.WorkAsync(0, RpcCallOptions.Default.WithTimeout(TimeSpan.FromSeconds(2)));
                    break;
                }
                catch (RpcException ex) when (DateTime.UtcNow < until && ex.StatusCode is RpcStatusCode.Unavailable or RpcStatusCode.DeadlineExceeded)
                {
                    await Task.Delay(100);
                }
            }

            var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => service.AddAsync(i, 1).AsTask()));
            Assert.Equal(Enumerable.Range(1, 50), results);
        }
        finally
        {
            await own.DisposeAsync();
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "Timed out waiting.");
            await Task.Delay(10);
        }
    }
}
