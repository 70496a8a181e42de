using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using TypedRpc.ReliabilityTests.ServerHost;
using Xunit;

namespace TypedRpc.IntegrationTests.Reliability;

public sealed partial class ReliabilityTests
{
    [Fact]
    public async Task R2_AClientDiesWithCallsWaiting_RetriesThroughAnotherInstanceAllGetResults_NoneRunsAgain()
    {
        var waiting = ReliabilitySize.Pick(500, 150);
        await using var cluster = new ReliabilityCluster(redis.Configuration);
        for (var i = 0; i < 3; i++)
        {
            await cluster.StartAsync(client: false, server: true);
        }

        var survivor = await cluster.StartAsync(client: true, server: false);
        var victim = await cluster.StartAsync(client: true, server: false);
        await cluster.WaitForServersAsync(Settle);
        await WarmUpAsync(survivor, victim);
        cluster.Effects.Clear();

        var keys = Enumerable.Range(0, waiting).Select(i => "order-" + Guid.NewGuid().ToString("N")).ToArray();
        var doomed = keys.Select(k => Service(victim).ProcessAsync(1_500, RpcCallOptions.Default.WithIdempotencyKey(k).WithTimeout(TimeSpan.FromSeconds(30)))).ToArray();
        await Task.Delay(500);

        // The caller dies with every call waiting (its handlers are running on the servers).
        await cluster.KillAsync(victim, abandonKafkaClients: true);
        var clock = Stopwatch.StartNew();
        var outcomes = new CallOutcomes();
        var results = await Task.WhenAll(keys.Select(async k =>
        {
            var call = Stopwatch.StartNew();
            try
            {
                var result = await Service(survivor).ProcessAsync(1_500, RpcCallOptions.Default.WithIdempotencyKey(k).WithTimeout(TimeSpan.FromSeconds(30)));
                outcomes.Record(null, call.Elapsed, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5));
                return result;
            }
            catch (Exception ex)
            {
                outcomes.Record(ex, call.Elapsed, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5));
                return null;
            }
        }));
        var elapsed = clock.Elapsed;
        await Task.Delay(500);

        var ids = keys.Select(k => CorrelationId.FromIdempotencyKey(ReliabilityServiceDescriptor.ProcessMethod.FullName, k).ToString()).ToArray();
        var reExecuted = ids.Count(id => cluster.Effects.GetValueOrDefault(id) > 1);
        var neverRun = ids.Count(id => cluster.Effects.GetValueOrDefault(id) == 0);
        Print("R2", $"{waiting} calls waiting on a killed client, retried through another instance with the same idempotency keys: {outcomes.Ok} results ({100.0 * outcomes.Ok / waiting:0.0} %) in {elapsed.TotalMilliseconds:0} ms; outcomes: {outcomes}");
        Print("R2", $"re-executions: {reExecuted}; never run: {neverRun}; takeovers: {_metrics["typedrpc.client.takeovers"]}; duplicates suppressed: running {_metrics["typedrpc.server.duplicates_suppressed[outcome=running]"]}, completed {_metrics["typedrpc.server.duplicates_suppressed[outcome=completed]"]}");

        Assert.Equal(waiting, outcomes.Ok);
        Assert.All(results, r => Assert.NotNull(r));
        Assert.Equal(0, reExecuted);
        Assert.Equal(0, neverRun);
        GC.KeepAlive(doomed);
    }
}
