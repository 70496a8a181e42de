using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Benchmarks.Contract;
using TypedRpc.Benchmarks.Infrastructure;
using TypedRpc.Benchmarks.Kafka;

namespace TypedRpc.Benchmarks.Scenarios;

/// <summary>
/// 1. Sequential calls, one at a time: TypedRpc (Redis ownership and claims on, as deployed; and
/// off) against a raw Confluent.Kafka ping-pong on the same mock cluster, in interleaved rounds.
/// </summary>
public sealed class RoundtripScenario : IScenario
{
    public string Name => "roundtrip";

    public string Title => "sequential calls: TypedRpc vs raw Confluent.Kafka ping-pong";

    public async Task<ScenarioResult> RunAsync(RunSize size, IProgress<string> progress, CancellationToken cancellationToken)
    {
        var (rounds, perRound) = size == RunSize.Full ? (20, 100) : (2, 10);
        var result = new ScenarioResult(Name, Title);
        await using var cluster = await BenchCluster.StartAsync();

        progress.Report("starting TypedRpc (Redis on, Redis off) and the raw client/server");
        var withRedis = cluster.NewDeployment("rt-redis");
        var withoutRedis = cluster.NewDeployment("rt-plain");
        var on = new InstanceSettings();
        var off = new InstanceSettings { UseRedis = false };
        await Task.WhenAll(withRedis.StartAsync(false, true, on), withoutRedis.StartAsync(false, true, off));
        var clientOn = await withRedis.StartAsync(true, false, on);
        var clientOff = await withoutRedis.StartAsync(true, false, off);
        var request = BenchService.Sample;

        var rawRequests = cluster.NewTopic("rt-raw.requests", 8);
        var rawReplies = cluster.NewTopic("rt-raw.replies", 16);
        using var rawServer = new RawServer(cluster.BootstrapServers, rawRequests, 8, rawReplies);
        using var rawClient = new RawClient(cluster.BootstrapServers, rawRequests, rawReplies, clientOn.RpcClient.ReplyAddress.Partition, concurrent: false);
        using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(cluster.Redis.Configuration);
        var claimRequests = cluster.NewTopic("rt-rawclaim.requests", 8);
        var claimReplies = cluster.NewTopic("rt-rawclaim.replies", 16);
        using var claimServer = new RawServer(cluster.BootstrapServers, claimRequests, 8, claimReplies, new RawClaims(redis.GetDatabase()));
        using var claimClient = new RawClient(cluster.BootstrapServers, claimRequests, claimReplies, clientOn.RpcClient.ReplyAddress.Partition, concurrent: false);

        progress.Report("warming up (until the server groups have assigned their partitions)");
        await Load.WarmUpAsync(() => clientOn.Client.QuoteAsync(request), TimeSpan.FromSeconds(30));
        await Load.WarmUpAsync(() => clientOff.Client.QuoteAsync(request), TimeSpan.FromSeconds(30));
        for (var i = 0; i < 20; i++)
        {
            rawClient.PingPong(TimeSpan.FromSeconds(10));
            claimClient.PingPong(TimeSpan.FromSeconds(10));
        }

        var contenders = new (string Label, Func<Task> Call)[]
        {
            ("TypedRpc (Redis on)", () => clientOn.Client.QuoteAsync(request)),
            ("TypedRpc (Redis off)", () => clientOff.Client.QuoteAsync(request)),
            ("raw Confluent.Kafka", () => { rawClient.PingPong(TimeSpan.FromSeconds(10)); return Task.CompletedTask; }),
            ("raw Confluent.Kafka + Redis claim", () => { claimClient.PingPong(TimeSpan.FromSeconds(10)); return Task.CompletedTask; }),
        };
        var totals = await Load.RunInterleavedAsync(Array.ConvertAll(contenders, c => c.Call), rounds, perRound, inFlight: 1, roundDone: r => progress.Report($"round {r}/{rounds}"));
        for (var c = 0; c < contenders.Length; c++)
        {
            if (totals[c].Failed > 0)
            {
                throw new InvalidOperationException($"{contenders[c].Label}: {totals[c].Failed} calls failed, e.g. {totals[c].Errors[0]}");
            }
        }

        var stats = new Stats[contenders.Length];
        for (var c = 0; c < contenders.Length; c++)
        {
            stats[c] = Stats.Of(totals[c].LatenciesMs);
        }

        for (var c = 0; c < contenders.Length; c++)
        {
            result.Row(contenders[c].Label).Add("calls", stats[c].Count).Add("p50 ms", stats[c].P50).Add("p99 ms", stats[c].P99).Add("mean ms", stats[c].Mean)
                .Add("p50 ratio", stats[c].P50 / stats[2].P50).Add("p99 ratio", stats[c].P99 / stats[2].P99).Add("mean ratio", stats[c].Mean / stats[2].Mean);
        }

        var rawFailures = rawServer.Failures + rawClient.Failures + claimServer.Failures + claimClient.Failures;
        if (rawFailures > 0)
        {
            throw new InvalidOperationException($"The raw contenders failed to deliver {rawFailures} records.");
        }

        result.Claim("p50 TypedRpc ÷ raw (Redis on)", stats[0].P50 / stats[2].P50, TargetKind.AtMost, 1.05);
        result.Claim("p50 TypedRpc ÷ raw (Redis off)", stats[1].P50 / stats[2].P50, TargetKind.Info, double.NaN);
        result.Claim("p50 raw + Redis claim ÷ raw", stats[3].P50 / stats[2].P50, TargetKind.Info, double.NaN);
        result.Claim("p50 TypedRpc (Redis on) ÷ raw + Redis claim", stats[0].P50 / stats[3].P50, TargetKind.Info, double.NaN);
        result.Notes.Add($"{rounds} interleaved rounds × {perRound} sequential calls per contender; one client and one server instance per TypedRpc contender, each with its own Kafka clients and Redis connection.");
        result.Notes.Add("Raw: the caller's thread produces a record (correlation id and reply partition in headers) and consumes its reply partition until the reply; a server thread consumes every request partition and produces the reply. Same producer/consumer settings as TypedRpc's transport (linger 0, idempotent, acks all, fetch.wait.max.ms 1).");
        result.Notes.Add("Redis on: each call records its owner in Redis while its request is sent, and the server claims it before running (one Redis script) and completes the claim while the reply is sent (leased reply partitions).");
        result.Notes.Add("Raw + Redis claim: the raw ping-pong whose server claims each request with one SET NX before producing the reply and marks it completed (fire and forget) after: the least any server that runs each request once must add to a call — one Redis round trip before the handler.");
        return result;
    }
}
