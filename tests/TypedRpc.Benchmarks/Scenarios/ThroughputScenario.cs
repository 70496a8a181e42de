using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Benchmarks.Contract;
using TypedRpc.Benchmarks.Infrastructure;
using TypedRpc.Benchmarks.Kafka;
using TypedRpc.Benchmarks.Mqtt;

namespace TypedRpc.Benchmarks.Scenarios;

/// <summary>
/// 2. Calls per second with 64 and 256 calls in flight from one client instance to one server
/// instance: TypedRpc with Redis ownership and claims, without them, and raw Confluent.Kafka; and in
/// the same rounds TypedRpc over MQTT (Redis on) and raw MQTTnet on one mosquitto.
/// </summary>
public sealed class ThroughputScenario : IScenario
{
    public string Name => "throughput";

    public string Title => "calls/s with 64 and 256 in flight: TypedRpc (Redis on/off) vs raw, over Kafka and over MQTT";

    public async Task<ScenarioResult> RunAsync(RunSize size, IProgress<string> progress, CancellationToken cancellationToken)
    {
        // Many short interleaved rounds: on these shared 2-core machines one contender's calls/s
        // moved 2x from one 3,000-call round to the next (six rounds gave ratios 0.59-1.15 for the
        // same code), so the total is summed over twelve rounds per contender and level.
        var (rounds, perRound, levels) = size == RunSize.Full ? (12, 2_000, new[] { 64, 256 }) : (2, 100, new[] { 64, 256 });
        var result = new ScenarioResult(Name, Title);
        await using var cluster = await BenchCluster.StartAsync(mqtt: true);

        progress.Report("starting TypedRpc (Redis on, Redis off, over MQTT) and the raw clients/servers");
        var withRedis = cluster.NewDeployment("tp-redis");
        var withoutRedis = cluster.NewDeployment("tp-plain");
        var on = new InstanceSettings();
        var off = new InstanceSettings { UseRedis = false };
        await Task.WhenAll(withRedis.StartAsync(false, true, on), withoutRedis.StartAsync(false, true, off));
        var clientOn = await withRedis.StartAsync(true, false, on);
        var clientOff = await withoutRedis.StartAsync(true, false, off);
        var rawRequests = cluster.NewTopic("tp-raw.requests", 8);
        var rawReplies = cluster.NewTopic("tp-raw.replies", 16);
        using var rawServer = new RawServer(cluster.BootstrapServers, rawRequests, 8, rawReplies);
        using var rawClient = new RawClient(cluster.BootstrapServers, rawRequests, rawReplies, 0, concurrent: true);
        var overMqtt = cluster.NewMqttDeployment("tp-mqtt");
        await overMqtt.StartAsync(false, true, on);
        var clientMqtt = await overMqtt.StartAsync(true, false, on);
        var mqttRaw = BenchCluster.Unique("tp-raw-mqtt");
        await using var mqttServer = await RawMqttServer.StartAsync(cluster.Mosquitto, mqttRaw + "/requests", on.MaxConcurrentRequests);
        await using var mqttClient = await RawMqttClient.StartAsync(cluster.Mosquitto, mqttRaw + "/requests", mqttRaw + "/replies/caller", on.MaxConcurrentRequests);
        var request = BenchService.Sample;

        progress.Report("warming up (until the server groups have assigned their partitions)");
        await Load.WarmUpAsync(() => clientOn.Client.QuoteAsync(request), TimeSpan.FromSeconds(30), 200);
        await Load.WarmUpAsync(() => clientOff.Client.QuoteAsync(request), TimeSpan.FromSeconds(30), 200);
        await Load.WarmUpAsync(rawClient.CallAsync, TimeSpan.FromSeconds(30), 200);
        await Load.WarmUpAsync(() => clientMqtt.Client.QuoteAsync(request), TimeSpan.FromSeconds(30), 200);
        await Load.WarmUpAsync(mqttClient.CallAsync, TimeSpan.FromSeconds(30), 200);

        // Then concurrent calls, so that what is measured is the steady state: without this the
        // runtime's tiered JIT was still recompiling TypedRpc's hot paths during the first rounds
        // (a tenth of the CPU in a profile) — a cost raw Kafka, with little managed code, barely has.
        progress.Report("warming up under load");
        foreach (var call in new Func<Task>[] { () => clientOn.Client.QuoteAsync(request), () => clientOff.Client.QuoteAsync(request), rawClient.CallAsync, () => clientMqtt.Client.QuoteAsync(request), mqttClient.CallAsync })
        {
            await Load.RunAsync(2 * perRound, 64, call);
        }

        await Task.Delay(500); // the JIT's background compilations
        var cpu = new CpuMeter(cluster.Redis.Port, cluster.Mosquitto.Port);
        await cpu.MeasureIdleAsync(TimeSpan.FromSeconds(size == RunSize.Full ? 2 : 0.5));

        var contenders = new (string Label, Func<Task> Call)[]
        {
            ("TypedRpc (Redis on)", () => clientOn.Client.QuoteAsync(request)),
            ("TypedRpc (Redis off)", () => clientOff.Client.QuoteAsync(request)),
            ("raw Confluent.Kafka", rawClient.CallAsync),
            ("TypedRpc over MQTT (Redis on)", () => clientMqtt.Client.QuoteAsync(request)),
            ("raw MQTTnet", mqttClient.CallAsync),
        };
        const int RawKafka = 2, RawMqtt = 4;

        foreach (var inFlight in levels)
        {
            var totals = await Load.RunInterleavedAsync(
                Array.ConvertAll(contenders, c => c.Call), rounds, perRound, inFlight, cpu.Now, cpu.Redis, r => progress.Report($"{inFlight} in flight: round {r}/{rounds}"));
            for (var c = 0; c < contenders.Length; c++)
            {
                if (totals[c].Failed > 0)
                {
                    progress.Report($"{contenders[c].Label}: {totals[c].Failed} failed, e.g. {totals[c].Errors[0]}");
                }
            }

            var rate = new double[contenders.Length];
            for (var c = 0; c < contenders.Length; c++)
            {
                rate[c] = totals[c].CallsPerSecond;
            }

            // Each row's "÷ raw" is to the raw contender of its own transport.
            for (var c = 0; c < contenders.Length; c++)
            {
                var t = totals[c];
                var stats = Stats.Of(t.LatenciesMs);
                result.Row($"{contenders[c].Label}, {inFlight} in flight").Add("calls", t.Completed).Add("failed", t.Failed)
                    .Add("calls/s", rate[c]).Add("÷ raw", rate[c] / rate[c <= RawKafka ? RawKafka : RawMqtt]).Add("p50 ms", stats.P50).Add("p99 ms", stats.P99)
                    .Add("CPU µs/call", t.CpuSeconds * 1e6 / t.Completed)
                    .Add("above idle", (t.CpuSeconds - cpu.IdlePerSecond * t.Seconds) * 1e6 / t.Completed)
                    .Add("redis-server µs/call", t.RedisSeconds * 1e6 / t.Completed);
            }

            result.Claim($"calls/s ÷ raw, Redis on, {inFlight} in flight", rate[0] / rate[2], TargetKind.AtLeast, 0.85);
            result.Claim($"calls/s ÷ raw, Redis off, {inFlight} in flight", rate[1] / rate[2], TargetKind.AtLeast, 0.95);

            // The box is CPU-bound (the broker, clients, servers and redis-server share its cores), so
            // calls/s ÷ raw follows CPU per call raw ÷ TypedRpc; and redis-server's own CPU per call
            // caps what any client of it could reach here, engine or not.
            double AboveIdle(int c) => (totals[c].CpuSeconds - cpu.IdlePerSecond * totals[c].Seconds) / totals[c].Completed;
            result.Claim($"CPU per call above idle, raw ÷ TypedRpc (Redis on), {inFlight} in flight", AboveIdle(2) / AboveIdle(0), TargetKind.Info, double.NaN);
            if (cpu.CountsRedis)
            {
                var redisPerCall = totals[0].RedisSeconds / totals[0].Completed;
                result.Claim($"calls/s ÷ raw reachable with redis-server's CPU alone, {inFlight} in flight", AboveIdle(2) / (AboveIdle(2) + redisPerCall), TargetKind.Info, double.NaN);
            }

            result.Claim($"calls/s TypedRpc over MQTT ÷ raw MQTT (Redis on), {inFlight} in flight", rate[3] / rate[RawMqtt], TargetKind.Info, double.NaN);
            result.Claim($"CPU per call above idle, raw MQTT ÷ TypedRpc over MQTT, {inFlight} in flight", AboveIdle(RawMqtt) / AboveIdle(3), TargetKind.Info, double.NaN);
            result.Claim($"calls/s raw MQTT ÷ raw Kafka, {inFlight} in flight", rate[RawMqtt] / rate[RawKafka], TargetKind.Info, double.NaN);
        }

        if (rawServer.Failures + rawClient.Failures > 0)
        {
            throw new InvalidOperationException($"The raw contender failed to deliver {rawServer.Failures + rawClient.Failures} records.");
        }

        if (mqttServer.Failures > 0)
        {
            throw new InvalidOperationException($"The raw MQTT server failed to publish {mqttServer.Failures} replies.");
        }

        result.Notes.Add($"{rounds} interleaved rounds × {perRound:N0} calls per contender and level; one client and one server instance per contender (TypedRpc servers allow 512 requests at once, so the engine's concurrency limit is not what is measured).");
        result.Notes.Add($"CPU µs/call: CPU time of this process (clients, servers, the mock broker) {(cpu.CountsRedis ? "and redis-server " : "")}{(cpu.CountsMosquitto ? "and mosquitto " : "")}over a contender's rounds ÷ its calls; above idle: less what the same processes used per second with no calls ({cpu.IdlePerSecond:0.00} CPU-s/s: every instance's Kafka clients poll the mock), times the rounds' duration.");
        result.Notes.Add("Reachable with redis-server's CPU alone: raw's CPU per call above idle ÷ (that + redis-server's CPU per TypedRpc call) — the ratio a client adding nothing but redis-server's work (no engine, no Redis client) would reach on this CPU-bound machine.");
        result.Notes.Add("Raw: a producer and a reader thread that completes waiters by correlation id on the client; a server thread that consumes and produces each reply straight back. Same client settings as TypedRpc's transport.");
        result.Notes.Add("Over MQTT: one mosquitto 2.0 on loopback (TCP_NODELAY); TypedRpc's instances as over Kafka (Redis on, Receive Maximum 512), requests on a shared subscription, replies to the caller's own topic. Raw MQTTnet: one connection each for caller and server; the caller publishes QoS 1 requests (awaiting each PUBACK, publishes bounded by the broker's Receive Maximum as TypedRpc's are) and completes waiters by correlation data; the server, a shared-subscription member, publishes each reply without awaiting its PUBACK. MQTT rows' \"÷ raw\" is to raw MQTTnet.");
        return result;
    }
}
