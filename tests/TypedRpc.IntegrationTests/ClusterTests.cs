using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.IntegrationTests.Redis;
using TypedRpc.Kafka;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// Three caller instances and three server instances, each with its own Kafka clients and its own
/// Redis connection, in every reply routing: exactly-once execution, replies back to their callers,
/// membership changes under load, and a caller that dies with calls waiting.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class ClusterTests : IAsyncLifetime
{
    private readonly KafkaFixture _kafka;
    private readonly RedisServerFixture _redis;
    private readonly ITestOutputHelper _output;
    private KafkaCluster? _cluster;
    private readonly List<IServiceProvider> _servers = new();
    private readonly List<IServiceProvider> _clients = new();
    private readonly Support.MetricsRecorder _metrics = new();

    public ClusterTests(KafkaFixture kafka, RedisServerFixture redis, ITestOutputHelper output)
    {
        _kafka = kafka;
        _redis = redis;
        _output = output;
    }

    public static TheoryData<ReplyRouting> Routings => new() { ReplyRouting.LeasedPartitions, ReplyRouting.ConsumerGroup, ReplyRouting.Broadcast };

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task StartAsync(ReplyRouting routing)
    {
        var ns = RedisServerFixture.NewNamespace();
        _cluster = new KafkaCluster(_kafka, () => _redis.CreateStore(ns), ns) { LeaseTimeToLive = TimeSpan.FromSeconds(2), Routing = routing };
        var servers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => _cluster.StartAsync(client: false, server: true)));
        _servers.AddRange(servers);
        for (var i = 0; i < 3; i++)
        {
            _clients.Add(await _cluster!.StartAsync(client: true, server: false));
        }

        // Wait until the server group has settled: each member holds request partitions, every client gets an answer.
        var until = DateTime.UtcNow.AddSeconds(40);
        while (_servers.Any(s => s.GetRequiredService<Kafka.KafkaRpcTransport>().AssignedRequestPartitions == 0))
        {
            Assert.True(DateTime.UtcNow < until, "The server group did not spread its partitions over three members in time.");
            await Task.Delay(100);
        }

        await Task.WhenAll(_clients.Select(c => Service(c).WorkAsync(0, RpcCallOptions.Default)));
    }

    public async Task DisposeAsync()
    {
        _metrics.Dispose();
        if (_cluster is not null)
        {
            await _cluster!.DisposeAsync();
        }
    }

    private static IIntegrationService Service(IServiceProvider instance) => instance.GetRequiredService<IIntegrationService>();

    private static RpcClient Client(IServiceProvider instance) => instance.GetRequiredService<RpcClient>();

    [Theory]
    [MemberData(nameof(Routings))]
    public async Task EveryCallRunsOnExactlyOneServer_AndCompletesOnItsCaller(ReplyRouting routing)
    {
        await StartAsync(routing);
        var addresses = _clients.Select(c => Client(c).ReplyAddress).ToArray();
        if (routing == ReplyRouting.LeasedPartitions)
        {
            // Each caller reads a partition of its own.
            Assert.Equal(3, addresses.Distinct().Count());
        }

        var calls = _clients.SelectMany(c => Enumerable.Range(0, 150).Select(_ => Service(c).WorkAsync(2, RpcCallOptions.Default))).ToArray();
        var servedBy = await Task.WhenAll(calls);

        Assert.Equal(450, servedBy.Length);
        Assert.All(_cluster!.State.Executions.Values, count => Assert.Equal(1, count));
        Assert.Equal(_cluster!.State.Executions.Count, _cluster!.State.Executions.Values.Sum());
        Report("steady state");
        Assert.True(servedBy.Distinct().Count() >= 2, "The server group should spread requests over its members.");
    }

    [Theory]
    [MemberData(nameof(Routings))]
    public async Task ACallerJoinsAndAnotherLeavesUnderLoad_NoCallIsLost(ReplyRouting routing)
    {
        await StartAsync(routing);
        using var stop = new CancellationTokenSource();
        var completed = 0;
        var failures = new List<Exception>();
        async Task Load(IServiceProvider client)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Service(client).WorkAsync(5, RpcCallOptions.Default);
                    Interlocked.Increment(ref completed);
                }
                catch (Exception ex)
                {
                    lock (failures)
                    {
                        failures.Add(ex);
                    }
                }
            }
        }

        var load = Enumerable.Range(0, 8).Select(i => Task.Run(() => Load(_clients[i % 2]))).ToList();
        var leaving = _clients[2];
        var leavingCalls = Enumerable.Range(0, 40).Select(_ => Service(leaving).WorkAsync(300, RpcCallOptions.Default)).ToArray();
        await Task.Delay(500);

        var joined = await _cluster!.StartAsync(client: true, server: false);
        load.Add(Task.Run(() => Load(joined)));
        // A graceful leave: the application lets its own calls finish, then stops the instance.
        await Task.WhenAll(leavingCalls);
        await _cluster!.StopAsync(leaving);
        await Task.Delay(1_500);
        stop.Cancel();
        await Task.WhenAll(load);

        _output.WriteLine($"calls completed under load: {completed}, failures: {failures.Count}");
        Assert.Empty(failures);
        Assert.True(completed > 50);
        Assert.All(_cluster!.State.Executions.Values, count => Assert.Equal(1, count));
        Report("join + leave");
    }

    [Theory]
    [MemberData(nameof(Routings))]
    public async Task ACallerDiesWithCallsWaiting_RetriesThroughAnotherInstanceAllGetResults_NoneRunsTwice(ReplyRouting routing)
    {
        await StartAsync(routing);
        var victim = _clients[2];
        var keys = Enumerable.Range(0, 40).Select(i => "order-" + Guid.NewGuid().ToString("N")).ToArray();
        var doomed = keys.Select(k => Service(victim).WorkAsync(1_500, RpcCallOptions.Default.WithIdempotencyKey(k))).ToArray();
        await Task.Delay(400);

        await _cluster!.CrashAsync(victim);
        var watch = Stopwatch.StartNew();
        var retries = await Task.WhenAll(keys.Select(k => Service(_clients[0]).WorkAsync(1_500,
            RpcCallOptions.Default.WithIdempotencyKey(k).WithTimeout(TimeSpan.FromSeconds(30)))));
        _output.WriteLine($"{retries.Length} retries through another instance completed in {watch.ElapsedMilliseconds} ms");

        Assert.Equal(keys.Length, retries.Length);
        var ids = keys.Select(k => CorrelationId.FromIdempotencyKey(IntegrationServiceDescriptor.WorkMethod.FullName, k).ToString()).ToArray();
        Assert.All(ids, id => Assert.Equal(1, _cluster!.State.Executions.GetValueOrDefault(id)));
        Report("caller crash + retries");
        // Every retry took over the dead caller's call, and the servers ran none of them again.
        Assert.True(_metrics["typedrpc.client.takeovers"] >= keys.Length, _metrics.ToString());
        if (routing == ReplyRouting.LeasedPartitions)
        {
            // The dead caller's partition was adopted; its replies went to the new owner (forwarded
            // through the store, or read directly when the owner itself adopted the partition).
            Assert.True(_metrics["typedrpc.kafka.leases[event=adopted]"] >= 1, _metrics.ToString());
        }

        Assert.True(_metrics["typedrpc.server.duplicates_suppressed[outcome=running]"] + _metrics["typedrpc.server.duplicates_suppressed[outcome=completed]"] >= keys.Length, _metrics.ToString());
        GC.KeepAlive(doomed);
    }

    [Fact]
    public async Task ALostLease_IsNoticed_AndTheCallsWaitingOnItsPartitionStillComplete()
    {
        await StartAsync(ReplyRouting.LeasedPartitions);
        var victim = _clients[0];
        var partition = Client(victim).ReplyAddress.Partition;
        var calls = Enumerable.Range(0, 30).Select(_ => Service(victim).WorkAsync(1_500, RpcCallOptions.Default)).ToArray();
        await Task.Delay(300);

        // Another holder takes the lease (as after a long pause of the victim): the victim's renewal
        // fails; it must move, and the replies already on their way to the old partition must still
        // reach it (the partition's next reader forwards them through the store).
        var store = _redis.CreateStore(_cluster!.Namespace);
        await store.Leases.ReleaseAsync(_cluster.Name, partition, Client(victim).InstanceId, default);
        Assert.True(await store.Leases.TryAcquireAsync(_cluster.Name, partition, "someone-else", TimeSpan.FromSeconds(2), default));
        await store.DisposeAsync();

        var results = await Task.WhenAll(calls);
        await WaitUntil(() => Client(victim).ReplyAddress.Partition != partition, TimeSpan.FromSeconds(10));

        Assert.Equal(30, results.Length);
        Report("lease lost");
        Assert.True(_metrics["typedrpc.kafka.leases[event=lost]"] >= 1, _metrics.ToString());
        Assert.Equal(8, (await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Service(victim).WorkAsync(0, RpcCallOptions.Default)))).Length);
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "Timed out waiting.");
            await Task.Delay(50);
        }
    }

    [Theory]
    [MemberData(nameof(Routings))]
    public async Task AServerStopsUnderLoad_NoneLost_NoneRunTwice(ReplyRouting routing)
    {
        await StartAsync(routing);
        var calls = _clients.SelectMany(c => Enumerable.Range(0, 60).Select(_ => Service(c).WorkAsync(150, RpcCallOptions.Default))).ToArray();
        await Task.Delay(200);

        // Stop the member holding the most partitions: its running requests drain, the rest move.
        var busiest = _servers.OrderByDescending(s => s.GetRequiredService<Kafka.KafkaRpcTransport>().AssignedRequestPartitions).First();
        await _cluster!.StopAsync(busiest);
        var results = await Task.WhenAll(calls);

        Assert.Equal(180, results.Length);
        Assert.True(results.Distinct().Count() >= 2, "The calls should have been spread over several servers.");
        Assert.All(_cluster!.State.Executions.Values, count => Assert.Equal(1, count));
        Report("server leaves under load");
    }

    private void Report(string phase)
    {
        _output.WriteLine("request partitions per server: " + string.Join(", ", _servers.Select(s =>
        {
            try
            {
                return s.GetRequiredService<Kafka.KafkaRpcTransport>().AssignedRequestPartitions.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (ObjectDisposedException)
            {
                return "stopped";
            }
        })));
        var servers = string.Join(", ", _cluster!.State.ByServer.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}: {kv.Value}"));
        _output.WriteLine($"[{phase}] metrics: {_metrics}");
        _output.WriteLine($"[{phase}] executions: {_cluster!.State.Executions.Values.Sum()} for {_cluster!.State.Executions.Count} correlation ids (max per id {(_cluster!.State.Executions.IsEmpty ? 0 : _cluster!.State.Executions.Values.Max())}); by server: {servers}");
    }
}
