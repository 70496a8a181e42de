using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.IntegrationTests.Redis;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// Three caller instances and three server instances over an MQTT 5 broker, each with its own
/// connections and its own Redis connection: every call runs once and completes on its caller, and
/// so it stays when a server is killed under load, a caller dies with calls waiting that are
/// retried through another instance, and the broker restarts.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class MqttClusterTests(MosquittoFixture broker, RedisServerFixture redis, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan CallBound = TimeSpan.FromSeconds(30);
    private readonly List<IServiceProvider> _servers = new();
    private readonly List<IServiceProvider> _clients = new();
    private readonly Support.MetricsRecorder _metrics = new();
    private MosquittoFixture? _ownBroker;
    private MqttCluster? _cluster;

    private MqttCluster Cluster => _cluster!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _metrics.Dispose();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (_ownBroker is not null)
        {
            await _ownBroker.DisposeAsync();
        }
    }


    private async Task StartAsync(MosquittoFixture on)
    {
        var ns = RedisServerFixture.NewNamespace();
        _cluster = new MqttCluster(on, () => redis.CreateStore(ns), ns) { RepublishUnclaimedAfter = TimeSpan.FromMilliseconds(500) };
        _servers.AddRange(await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Cluster.StartAsync(client: false, server: true, configure: MqttCluster.FastClaims))));
        for (var i = 0; i < 3; i++)
        {
            _clients.Add(await Cluster.StartAsync(client: true, server: false, configure: MqttCluster.FastClaims));
        }

        await Task.WhenAll(_clients.Select(c => Service(c).WorkAsync(0, RpcCallOptions.Default)));
    }

    private static IIntegrationService Service(IServiceProvider instance) => instance.GetRequiredService<IIntegrationService>();

    [Fact]
    public async Task EveryCallRunsOnExactlyOneServer_AndCompletesOnItsCaller()
    {
        await StartAsync(broker);
        var addresses = _clients.Select(c => c.GetRequiredService<RpcClient>().ReplyAddress).ToArray();
        Assert.Equal(3, addresses.Distinct().Count());

        var servedBy = await Task.WhenAll(_clients.SelectMany(c => Enumerable.Range(0, 150).Select(_ => Service(c).WorkAsync(2, RpcCallOptions.Default))));

        Assert.Equal(450, servedBy.Length);
        Assert.Equal(3, servedBy.Distinct().Count());
        Assert.All(Cluster.State.Executions.Values, count => Assert.Equal(1, count));
        Report("steady state");
    }

    [Fact]
    public async Task AServerKilledUnderLoad_EveryCallCompletes_AndOnlyWhatItWasRunningRunsTwice()
    {
        await StartAsync(broker);
        var load = Load(TimeSpan.FromMilliseconds(50));
        await Task.Delay(1_000);
        await Cluster.CrashAsync(_servers[0]);
        await Task.Delay(4_000);
        await load.StopAsync();
        var (completed, failures) = (load.Completed, load.Failures);

        output.WriteLine($"calls completed: {completed()}, failures: {failures.Count}");
        Assert.Empty(failures);
        Assert.True(completed() > 100, $"only {completed()} calls completed");
        // A handler the killed server was running may run again (its claim expired); nothing else.
        Assert.All(Cluster.State.Executions.Values, count => Assert.InRange(count, 1, 2));
        Assert.True(Cluster.State.Executions.Values.Count(c => c == 2) <= new TypedRpc.Mqtt.MqttTransportOptions().ReceiveMaximum, "more ran twice than the killed server can have held");
        Assert.True(_metrics["typedrpc.mqtt.republished"] >= 1, _metrics.ToString());
        Report("server killed");
    }

    [Fact]
    public async Task ACallerDiesWithCallsWaiting_RetriesThroughAnotherInstanceAllGetResults_NoneRunsTwice()
    {
        await StartAsync(broker);
        var victim = _clients[2];
        var keys = Enumerable.Range(0, 40).Select(_ => "order-" + Guid.NewGuid().ToString("N")).ToArray();
        var doomed = keys.Select(k => Service(victim).WorkAsync(1_500, RpcCallOptions.Default.WithIdempotencyKey(k))).ToArray();
        await Task.Delay(400);

        await Cluster.CrashAsync(victim);
        var watch = Stopwatch.StartNew();
        var retries = await Task.WhenAll(keys.Select(k => Service(_clients[0]).WorkAsync(1_500, RpcCallOptions.Default.WithIdempotencyKey(k).WithTimeout(CallBound))));
        output.WriteLine($"{retries.Length} retries through another instance completed in {watch.ElapsedMilliseconds} ms");

        var ids = keys.Select(k => CorrelationId.FromIdempotencyKey(IntegrationServiceDescriptor.WorkMethod.FullName, k).ToString()).ToArray();
        Assert.All(ids, id => Assert.Equal(1, Cluster.State.Executions.GetValueOrDefault(id)));
        Assert.True(_metrics["typedrpc.client.takeovers"] >= keys.Length, _metrics.ToString());
        Report("caller crash + retries");
        GC.KeepAlive(doomed);
    }

    [Fact]
    public async Task TheBrokerRestartsUnderLoad_EveryCallCompletes_NoneRunsTwice()
    {
        _ownBroker = await MosquittoFixture.StartLocalAsync();
        await StartAsync(_ownBroker);
        var load = Load(TimeSpan.FromMilliseconds(20));
        var (completed, failures) = (load.Completed, load.Failures);
        await Task.Delay(1_000);

        // Without persistence the broker forgets every session and every message in flight: the
        // instances reconnect and subscribe again, and callers publish again what got no answer.
        await _ownBroker.Local!.StopAsync();
        await Task.Delay(500);
        await _ownBroker.Local.StartAgainAsync();
        var before = completed();
        await Task.Delay(4_000);
        await load.StopAsync();

        output.WriteLine($"calls completed: {completed()} ({completed() - before} after the restart), failures: {failures.Count}");
        Assert.Empty(failures);
        Assert.True(completed() - before > 20, $"only {completed() - before} calls completed after the restart");
        Assert.All(Cluster.State.Executions.Values, count => Assert.Equal(1, count));
        Report("broker restart");
    }

    /// <summary>Two callers per client instance calling in a loop until stopped; calls that fail are kept.</summary>
    private LoadRun Load(TimeSpan work)
    {
        var run = new LoadRun();
        run.Running = _clients.SelectMany(c => Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (!run.Stop.IsCancellationRequested)
            {
                try
                {
                    await Service(c).WorkAsync((int)work.TotalMilliseconds, RpcCallOptions.Default.WithTimeout(CallBound));
                    Interlocked.Increment(ref run.Count);
                }
                catch (Exception ex)
                {
                    lock (run.Failures)
                    {
                        run.Failures.Add(ex);
                    }
                }
            }
        }))).ToArray();
        return run;
    }

    private sealed class LoadRun
    {
        public int Count;

        public CancellationTokenSource Stop { get; } = new();

        public List<Exception> Failures { get; } = new();

        public Task[] Running { get; set; } = [];

        public Func<int> Completed => () => Volatile.Read(ref Count);

        public async Task StopAsync()
        {
            Stop.Cancel();
            await Task.WhenAll(Running);
            Stop.Dispose();
        }
    }

    private void Report(string phase)
    {
        var servers = string.Join(", ", Cluster.State.ByServer.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}: {kv.Value}"));
        output.WriteLine($"[{phase}] metrics: {_metrics}");
        output.WriteLine($"[{phase}] executions: {Cluster.State.Executions.Values.Sum()} for {Cluster.State.Executions.Count} correlation ids; by server: {servers}");
    }
}
