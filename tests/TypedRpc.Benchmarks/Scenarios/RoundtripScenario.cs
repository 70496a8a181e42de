using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Benchmarks.Contract;
using TypedRpc.Benchmarks.Infrastructure;
using TypedRpc.Benchmarks.Kafka;
using TypedRpc.Benchmarks.Mqtt;

namespace TypedRpc.Benchmarks.Scenarios;

/// <summary>
/// 1. Sequential calls, one at a time: TypedRpc (Redis ownership and claims on, as deployed; and
/// off) against a raw Confluent.Kafka ping-pong on the same mock cluster, and TypedRpc over MQTT
/// (Redis on) against a raw MQTTnet ping-pong on one mosquitto, all in the same interleaved rounds.
/// </summary>
public sealed class RoundtripScenario : IScenario
{
    public string Name => "roundtrip";

    public string Title => "sequential calls: TypedRpc vs raw Confluent.Kafka ping-pong, and over MQTT vs raw MQTTnet";

    public async Task<ScenarioResult> RunAsync(RunSize size, IProgress<string> progress, CancellationToken cancellationToken)
    {
        var (rounds, perRound) = size == RunSize.Full ? (20, 100) : (2, 10);
        var result = new ScenarioResult(Name, Title);
        await using var cluster = await BenchCluster.StartAsync(mqtt: true);

        progress.Report("starting TypedRpc (Redis on, Redis off, over MQTT) and the raw clients/servers");
        var withRedis = cluster.NewDeployment("rt-redis");
        var withoutRedis = cluster.NewDeployment("rt-plain");
        var on = new InstanceSettings();
        var off = new InstanceSettings { UseRedis = false };
        await Task.WhenAll(withRedis.StartAsync(false, true, on), withoutRedis.StartAsync(false, true, off));
        var clientOn = await withRedis.StartAsync(true, false, on);
        var clientOff = await withoutRedis.StartAsync(true, false, off);
        var overMqtt = cluster.NewMqttDeployment("rt-mqtt");
        await overMqtt.StartAsync(false, true, on);
        var clientMqtt = await overMqtt.StartAsync(true, false, on);
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
        var mqttRaw = BenchCluster.Unique("rt-raw-mqtt");
        await using var mqttServer = await RawMqttServer.StartAsync(cluster.Mosquitto, mqttRaw + "/requests", on.MaxConcurrentRequests);
        await using var mqttClient = await RawMqttClient.StartAsync(cluster.Mosquitto, mqttRaw + "/requests", mqttRaw + "/replies/caller", on.MaxConcurrentRequests);

        progress.Report("warming up (until the server groups have assigned their partitions)");
        await Load.WarmUpAsync(() => clientOn.Client.QuoteAsync(request), TimeSpan.FromSeconds(30));
        await Load.WarmUpAsync(() => clientOff.Client.QuoteAsync(request), TimeSpan.FromSeconds(30));
        await Load.WarmUpAsync(() => clientMqtt.Client.QuoteAsync(request), TimeSpan.FromSeconds(30));
        await Load.WarmUpAsync(mqttClient.CallAsync, TimeSpan.FromSeconds(30));
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
            ("TypedRpc over MQTT (Redis on)", () => clientMqtt.Client.QuoteAsync(request)),
            ("raw MQTTnet", mqttClient.CallAsync),
        };
        const int RawKafka = 2, RawMqtt = 5;
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

        // Each row's ratios are to the raw contender of its own transport.
        for (var c = 0; c < contenders.Length; c++)
        {
            var raw = stats[c < 4 ? RawKafka : RawMqtt];
            result.Row(contenders[c].Label).Add("calls", stats[c].Count).Add("p50 ms", stats[c].P50).Add("p99 ms", stats[c].P99).Add("mean ms", stats[c].Mean)
                .Add("p50 ratio", stats[c].P50 / raw.P50).Add("p99 ratio", stats[c].P99 / raw.P99).Add("mean ratio", stats[c].Mean / raw.Mean);
        }

        var rawFailures = rawServer.Failures + rawClient.Failures + claimServer.Failures + claimClient.Failures + mqttServer.Failures;
        if (rawFailures > 0)
        {
            throw new InvalidOperationException($"The raw contenders failed to deliver {rawFailures} records.");
        }

        result.Claim("p50 TypedRpc ÷ raw (Redis on)", stats[0].P50 / stats[2].P50, TargetKind.AtMost, 1.05);
        result.Claim("p50 TypedRpc ÷ raw (Redis off)", stats[1].P50 / stats[2].P50, TargetKind.Info, double.NaN);
        result.Claim("p50 raw + Redis claim ÷ raw", stats[3].P50 / stats[2].P50, TargetKind.Info, double.NaN);
        result.Claim("p50 TypedRpc (Redis on) ÷ raw + Redis claim", stats[0].P50 / stats[3].P50, TargetKind.Info, double.NaN);
        result.Claim("p50 TypedRpc over MQTT ÷ raw MQTT (Redis on)", stats[4].P50 / stats[RawMqtt].P50, TargetKind.Info, double.NaN);
        result.Claim("p99 TypedRpc over MQTT ÷ raw MQTT (Redis on)", stats[4].P99 / stats[RawMqtt].P99, TargetKind.Info, double.NaN);
        result.Claim("p50 raw MQTT ÷ raw Kafka", stats[RawMqtt].P50 / stats[RawKafka].P50, TargetKind.Info, double.NaN);
        result.Notes.Add($"{rounds} interleaved rounds × {perRound} sequential calls per contender; one client and one server instance per TypedRpc contender, each with its own Kafka clients and Redis connection.");
        result.Notes.Add("Raw: the caller's thread produces a record (correlation id and reply partition in headers) and consumes its reply partition until the reply; a server thread consumes every request partition and produces the reply. Same producer/consumer settings as TypedRpc's transport (linger 0, idempotent, acks all, fetch.wait.max.ms 1).");
        result.Notes.Add("Redis on: each call records its owner in Redis while its request is sent, and the server claims it before running (one Redis script) and completes the claim while the reply is sent (leased reply partitions).");
        result.Notes.Add("Over MQTT: one mosquitto 2.0 on loopback (TCP_NODELAY); TypedRpc's instances as over Kafka (Redis on), requests on a shared subscription, replies to the caller's own topic (MQTT 5 response topic and correlation data), Receive Maximum 512. Raw MQTTnet: the caller publishes each QoS 1 request (awaiting its PUBACK) and awaits the reply by correlation data on its reply topic; a server member of a shared subscription publishes each reply to the response topic without awaiting its PUBACK, the request acknowledged when that publish has started. Each MQTT row's ratios are to raw MQTTnet, each Kafka row's to raw Confluent.Kafka.");
        result.Notes.Add("Raw + Redis claim: the raw ping-pong whose server claims each request with one SET NX before producing the reply and marks it completed (fire and forget) after: the least any server that runs each request once must add to a call — one Redis round trip before the handler.");
        return result;
    }
}
