using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.IntegrationTests.Redis;
using TypedRpc.Kafka;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// <see cref="IRpcReadiness"/> over Kafka and redis-server: a server's start returns before its
/// consumer group has assigned it partitions, and it is ready only once the group has; a call made
/// then is answered without waiting for the group. The mock's groups wait a broker's default 3 s
/// for more members here (the embedded cluster's first assignment otherwise comes within
/// milliseconds, too soon to see a started server that is not ready).
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class ReadinessTests(KafkaFixture kafka, RedisServerFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task AServerIsReadyOnlyOnceItsGroupAssignedIt_AndACallMadeThenIsAnsweredWithoutWaitingForTheGroup()
    {
        var ns = RedisServerFixture.NewNamespace();
        using var delay = kafka.GroupInitialRebalanceDelay(TimeSpan.FromSeconds(3));
        await using var cluster = new KafkaCluster(kafka, () => redis.CreateStore(ns), ns);
        var watch = Stopwatch.StartNew();
        var server = await cluster.StartAsync(client: false, server: true);
        var started = watch.ElapsedMilliseconds;
        var readiness = server.GetRequiredService<IRpcReadiness>();
        var transport = server.GetRequiredService<KafkaRpcTransport>();

        // Started, not ready: the group join has only begun.
        Assert.False(readiness.IsReady);
        Assert.Contains("'integration'", Assert.Single(readiness.NotReady), StringComparison.Ordinal);

        // Readiness arrives with the first assignment, never before it.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var assignedWhenReady = -1;
        var observe = Task.Run(async () =>
        {
            while (!readiness.IsReady)
            {
                await Task.Delay(1);
            }

            assignedWhenReady = transport.AssignedRequestPartitions;
        });
        await readiness.WaitUntilReadyAsync(bound.Token);
        var ready = watch.ElapsedMilliseconds;
        await observe.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(assignedWhenReady > 0, "ready before the group assigned the member its partitions");
        Assert.Empty(readiness.NotReady);

        // A client started now is ready when its start returns (it has no server to wait for).
        var client = await cluster.StartAsync(client: true, server: false);
        Assert.True(client.GetRequiredService<IRpcReadiness>().IsReady);
        var service = client.GetRequiredService<IIntegrationService>();
        var call = Stopwatch.StartNew();
        await service.PingAsync();
        var first = call.ElapsedMilliseconds;
        var later = new long[5];
        for (var i = 0; i < later.Length; i++)
        {
            call.Restart();
            await service.PingAsync();
            later[i] = call.ElapsedMilliseconds;
        }

        Array.Sort(later);
        output.WriteLine($"server started after {started} ms, ready after {ready} ms; first call {first} ms, later calls {string.Join(", ", later)} ms");

        // Before readiness existed, the first call waited for the group (2.9-3.9 s on the mock with a 3 s delay).
        Assert.True(first - later[later.Length / 2] < 700, $"the first call after readiness took {first} ms (later calls: {string.Join(", ", later)} ms)");
    }

    [Fact]
    public async Task ACancelledWait_ThrowsOperationCanceledException()
    {
        var ns = RedisServerFixture.NewNamespace();
        using var delay = kafka.GroupInitialRebalanceDelay(TimeSpan.FromSeconds(3));
        await using var cluster = new KafkaCluster(kafka, () => redis.CreateStore(ns), ns);
        var server = await cluster.StartAsync(client: false, server: true);
        var readiness = server.GetRequiredService<IRpcReadiness>();

        // The group waits group.initial.rebalance.delay.ms for more members before it assigns.
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => readiness.WaitUntilReadyAsync(cancel.Token));

        Assert.False(readiness.IsReady);
        await readiness.WaitUntilReadyAsync().WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task WithWaitForReadinessOnStart_TheStartReturnsWithTheGroupAssigned()
    {
        var ns = RedisServerFixture.NewNamespace();
        await using var cluster = new KafkaCluster(kafka, () => redis.CreateStore(ns), ns);

        var server = await cluster.StartAsync(client: false, server: true, configure: o => o.WaitForReadinessOnStart = true);

        Assert.True(server.GetRequiredService<IRpcReadiness>().IsReady);
        Assert.True(server.GetRequiredService<KafkaRpcTransport>().AssignedRequestPartitions > 0);
    }
}
