using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;
using TypedRpc.Benchmarks.Infrastructure;
using TypedRpc.Benchmarks.Kafka;
using TypedRpc.DevServices;
using TypedRpc.Ownership;
using TypedRpc.Redis;
using TypedRpc.Transport;

namespace TypedRpc.Benchmarks.Scenarios;

/// <summary>
/// 8. Where Redis's share of a call goes: each store operation a call makes (the claim, which also
/// writes the caller's owner record, and the claim completion; a caller's own owner record and a
/// bare claim beside them, as before the record moved into the claim), alone, with 64 in flight against a local redis-server — CPU in this process
/// (the store and StackExchange.Redis), CPU in redis-server, latency — beside a PING and a plain SET
/// on the same connection.
/// </summary>
public sealed class StoreScenario : IScenario
{
    private const int InFlight = 64;

    public string Name => "store";

    public string Title => "a call's store operations alone: CPU in the client and in redis-server";

    public async Task<ScenarioResult> RunAsync(RunSize size, IProgress<string> progress, CancellationToken cancellationToken)
    {
        var (operations, rounds) = size == RunSize.Full ? (10_000, 3) : (200, 1);
        var result = new ScenarioResult(Name, Title);
        await using var redis = await LocalRedisServer.StartAsync(cancellationToken: cancellationToken);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = connection.GetDatabase();
        await using var store = new RedisOwnershipStore(new RedisOwnershipStoreOptions { Configuration = redis.Configuration, Namespace = "bstore" });
        var ttl = TimeSpan.FromSeconds(30);
        var owner = new RpcOwner("instance-1", new RpcReplyAddress("replies", 3));
        var conditions = new RpcClaimConditions(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), null);
        var withOwner = conditions with { Owner = owner, OwnerTimeToLive = ttl };
        Task Complete()
        {
            var id = CorrelationId.NewId();
            var reply = new RpcReply { Id = id, Status = RpcStatusCode.OK, IsEnd = true, HasValue = true, Payload = RawKafkaConfig.ReplyBytes };
            return store.CompleteClaimAsync(id, "holder-1", [reply], ttl, CancellationToken.None).AsTask();
        }

        var contenders = new (string Label, Func<Task> Op)[]
        {
            ("PING", () => database.PingAsync()),
            ("SET (plain, 50 bytes)", () => database.StringSetAsync("bstore:set:" + Guid.NewGuid().ToString("N"), RawKafkaConfig.ReplyBytes, ttl)),
            ("owner record (the caller's own)", () => store.RegisterOwnerAsync(CorrelationId.NewId(), owner, ttl, CancellationToken.None).AsTask()),
            ("claim (bare)", () => store.TryClaimAsync(CorrelationId.NewId(), "holder-1", ttl, conditions, CancellationToken.None).AsTask()),
            ("claim writing the owner record", () => store.TryClaimAsync(CorrelationId.NewId(), "holder-1", ttl, withOwner, CancellationToken.None).AsTask()),
            ("claim completion", Complete),
        };

        progress.Report("warming up");
        foreach (var (_, op) in contenders)
        {
            await Load.RunAsync(Math.Min(operations, 2_000), InFlight, op);
        }

        var cpu = new CpuMeter(redis.Port);
        await cpu.MeasureIdleAsync(TimeSpan.FromSeconds(size == RunSize.Full ? 1 : 0.2));
        var ops = Array.ConvertAll(contenders, c => c.Op);
        var totals = await Load.RunInterleavedAsync(ops, rounds, operations, InFlight, CpuMeter.Own, cpu.Redis, r => progress.Report($"round {r}/{rounds}"));
        for (var c = 0; c < contenders.Length; c++)
        {
            if (totals[c].Failed > 0)
            {
                throw new InvalidOperationException($"{contenders[c].Label}: {totals[c].Failed} operations failed, e.g. {totals[c].Errors[0]}");
            }
        }

        double Client(int c) => totals[c].CpuSeconds * 1e6 / totals[c].Completed;
        double Server(int c) => totals[c].RedisSeconds * 1e6 / totals[c].Completed;
        for (var c = 0; c < contenders.Length; c++)
        {
            var stats = Stats.Of(totals[c].LatenciesMs);
            result.Row(contenders[c].Label).Add("ops", totals[c].Completed).Add("ops/s", totals[c].CallsPerSecond).Add("p50 ms", stats.P50).Add("p99 ms", stats.P99)
                .Add("client CPU µs/op", Client(c)).Add("redis-server CPU µs/op", Server(c));
        }

        result.Claim("client CPU per plain call's store operations (claim writing the owner record + completion)", Client(4) + Client(5), TargetKind.Info, double.NaN, " µs");
        result.Claim("redis-server CPU per plain call's store operations", Server(4) + Server(5), TargetKind.Info, double.NaN, " µs");
        result.Claim("client CPU per call's store operations with the caller's own owner record (owner record + bare claim + completion)", Client(2) + Client(3) + Client(5), TargetKind.Info, double.NaN, " µs");
        result.Claim("redis-server CPU per call's store operations with the caller's own owner record", Server(2) + Server(3) + Server(5), TargetKind.Info, double.NaN, " µs");
        result.Claim("client CPU per store operation ÷ per PING (mean of claim writing the owner record and completion)", (Client(4) + Client(5)) / 2 / Client(0), TargetKind.Info, double.NaN);
        result.Notes.Add($"{rounds} interleaved rounds × {operations:N0} operations per contender, {InFlight} in flight, one connection (StackExchange.Redis {typeof(ConnectionMultiplexer).Assembly.GetName().Version}) to a local redis-server; each operation on a new id. Client CPU: this process's CPU over the rounds ÷ operations (the idle process used {cpu.IdlePerSecond:0.000} CPU-s/s, not subtracted); redis-server CPU from /proc.");
        result.Notes.Add("owner record: RedisOwnershipStore.RegisterOwnerAsync (a SET with a time to live); claim: TryClaimAsync (one script), bare or writing the caller's owner record in the same script (SET NX PX); claim completion: CompleteClaimAsync with one ~50-byte reply (one script). A plain call with Redis on makes two: the claim (writing the owner record) before its handler and the completion alongside its reply; a caller writes its own owner record (alongside its request) until the service's servers have said they do, and for idempotent and MaxWait calls.");
        return result;
    }
}
