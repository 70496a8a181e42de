using System;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using TypedRpc.ReliabilityTests.ServerHost;
using Xunit;

namespace TypedRpc.IntegrationTests.Reliability;

public sealed partial class ReliabilityTests
{
    /// <summary>The kinds of hostile request record R6 writes, and what each must become.</summary>
    private static readonly (string Name, bool DeadLetter)[] s_requestKinds =
    [
        ("random bytes, no headers", true),
        ("no trpc-id", true),
        ("an all-zero trpc-id", true),
        ("a malformed trpc-reply", true),
        ("trpc-deadline twice, the last malformed", false),
        ("trpc-id twice", false),
        ("a 200 KB trpc-owner", false),
        ("an unknown trpc-v", false),
        ("an unknown method", false),
        ("an unknown service", false),
        ("invalid UTF-8 in trpc-method", false),
        ("a negative deadline", false),
        ("an overflowing deadline", false),
        ("arguments of the wrong types", false),
        ("a 600 KB number argument", false),
        ("invalid UTF-8 arguments", false),
        ("a JSON array for the arguments", false),
        ("200 application headers", false),
    ];

    /// <summary>The kinds of hostile reply record R6 writes; all are dead-lettered by whoever reads them.</summary>
    private static readonly string[] s_replyKinds =
    [
        "random bytes, no headers",
        "a 5-byte trpc-id",
        "an unknown trpc-v",
        "trpc-status 200",
        "trpc-seq missing",
        "trpc-status twice",
    ];

    /// <summary>
    /// Hostile records on the request topic and on the callers' reply topic while valid calls flow:
    /// no consumer crashes or stalls, every hostile request is answered with an error status (never
    /// OK) or dead-lettered with its reason, every malformed reply is dead-lettered with its reason
    /// (also on reply partitions no caller leases: they are adopted and read), and every valid call
    /// succeeds.
    /// </summary>
    [Fact]
    public async Task R6_HostileRecordsOnBothTopics_EachAnsweredOrDeadLettered_ValidCallsKeepFlowing()
    {
        var hostile = ReliabilitySize.Pick(10_000, 1_000);
        // Store operations bounded at 2 s (the defaults; the fault tests' 1 s is for fast takeover,
        // which R6 does not need): on this 2-core machine one valid call of ~14,000 once took more
        // than 1 s to record its owner while the servers worked through the flood, and failed Unavailable.
        await using var cluster = new ReliabilityCluster(redis.Configuration, claimTtlMs: 6_000);
        var rawReplies = cluster.Settings.Name + ".raw-replies";
        cluster.Kafka?.CreateTopic(rawReplies, 4);
        for (var i = 0; i < 3; i++)
        {
            await cluster.StartAsync(client: false, server: true);
        }

        var clients = new IServiceProvider[3];
        for (var i = 0; i < 3; i++)
        {
            clients[i] = await cluster.StartAsync(client: true, server: false);
        }

        await cluster.WaitForServersAsync(Settle);
        await WarmUpAsync(clients);
        using var raw = new RawKafka(cluster.Settings.Bootstrap);

        // Valid calls all through the attack, from every client.
        var outcomes = new CallOutcomes();
        var failedIds = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var timeout = TimeSpan.FromSeconds(10);
        var valid = Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                try
                {
                    await Service(clients[w % 3]).ProcessAsync(1, RpcCallOptions.Default.WithTimeout(timeout));
                    outcomes.Record(null, clock.Elapsed, timeout, TimeSpan.FromSeconds(5));
                }
                catch (Exception ex)
                {
                    outcomes.Record(ex, clock.Elapsed, timeout, TimeSpan.FromSeconds(5));
                    failedIds.Add(ex is RpcException rpc ? $"{rpc.StatusCode} after {clock.ElapsedMilliseconds} ms: {rpc.Status.Detail} ({rpc.CorrelationId})" : ex.GetType().Name);
                }
            }
        })));

        // Every hostile record must end as an error reply to the raw reply address or as a dead
        // letter. Two readers follow those topics all through the run (librdkafka's mock broker keeps
        // a bounded log per partition — about 5 MB — and drops its oldest records beyond it, so what
        // is not read as it comes may be gone; a real broker keeps records for its retention time).
        var requestIds = new ConcurrentDictionary<CorrelationId, int>();
        var answeredByKind = new int[s_requestKinds.Length];
        var deadByKind = new int[s_requestKinds.Length];
        var replyDeadByKind = new int[s_replyKinds.Length];
        var okReplies = 0;
        var unreasoned = 0;
        var accounted = 0;
        var repeated = 0;
        // Dead-lettering and error replies are at least once: a record handled just before its
        // partition moved (a member missed a heartbeat on these 2 cores) is handled again by the
        // next owner. Each record counts once; repeats are reported.
        var seen = new ConcurrentDictionary<string, bool>();
        using var reading = new CancellationTokenSource();
        var replyReader = raw.Follow(rawReplies, 4, reading.Token, reply =>
        {
            if (reply.Message.Headers.TryGetLastBytes("trpc-id", out var idBytes) && idBytes.Length == 16 && requestIds.TryGetValue(CorrelationId.FromBytes(idBytes), out var kind))
            {
                if (!seen.TryAdd("answered|" + Convert.ToHexString(idBytes), true))
                {
                    Interlocked.Increment(ref repeated);
                    if (RawKafka.Status(reply) == RpcStatusCode.OK)
                    {
                        Interlocked.Increment(ref okReplies);
                    }

                    return;
                }

                Interlocked.Increment(ref answeredByKind[kind]);
                Interlocked.Increment(ref accounted);
                if (RawKafka.Status(reply) == RpcStatusCode.OK)
                {
                    Interlocked.Increment(ref okReplies);
                }
            }
        });
        var deadReader = raw.Follow(cluster.Settings.DeadLetterTopic, 1, reading.Token, dead =>
        {
            if (RawKafka.Header(dead, "trpc-dead-letter-reason").Length == 0)
            {
                Interlocked.Increment(ref unreasoned);
            }

            var tag = Encoding.UTF8.GetString(dead.Message.Key ?? []).Split('|');
            if (tag.Length == 3 && int.TryParse(tag[1], out var kind))
            {
                if (!seen.TryAdd("dead|" + tag[0] + "|" + tag[2], true))
                {
                    Interlocked.Increment(ref repeated);
                    return;
                }

                Interlocked.Increment(ref (tag[0] == "reply" ? replyDeadByKind : deadByKind)[kind]);
                Interlocked.Increment(ref accounted);
            }
        });

        // One in five hostile records goes to the reply topic, spread over all its partitions (most
        // of them leased by no caller); the rest to the request topic. Each carries its kind and
        // number in its key, which a dead letter keeps.
        var random = new Random(8);
        var sentByKind = new int[s_requestKinds.Length];
        var replySentByKind = new int[s_replyKinds.Length];
        var clock = Stopwatch.StartNew();
        var produced = new List<Task>(hostile);
        var pacedFor = TimeSpan.Zero;
        for (var i = 0; i < hostile; i++)
        {
            // Paced by what has been handled: at most 150 hostile records unaccounted for (among
            // them 600 KB and 200 KB ones), so that the servers, not the mock's bounded log, decide
            // each record's fate.
            var paced = Stopwatch.StartNew();
            while (i - Volatile.Read(ref accounted) >= 150 && paced.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(5);
            }

            pacedFor += paced.Elapsed;
            if (i % 5 == 4)
            {
                var kind = (i / 5) % s_replyKinds.Length;
                replySentByKind[kind]++;
                produced.Add(raw.ProduceAsync(cluster.Settings.ReplyTopic, Tag("reply", kind, i), Bytes(random, random.Next(0, 2_000)), HostileReply(kind, random),
                    partition: (i / 5) % ReliabilitySettings.ReplyPartitions));
            }
            else
            {
                var kind = (i - i / 5) % s_requestKinds.Length;
                sentByKind[kind]++;
                var id = CorrelationId.NewId();
                requestIds[id] = kind;
                produced.Add(raw.ProduceAsync(cluster.Settings.RequestTopic, Tag("request", kind, i), HostilePayload(kind, random),
                    HostileRequest(kind, id, random, rawReplies), partition: i % ReliabilitySettings.RequestPartitions));
            }

            if (produced.Count >= 100)
            {
                await Task.WhenAll(produced);
                produced.Clear();
            }
        }

        await Task.WhenAll(produced);
        var attack = clock.Elapsed;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(ReliabilitySize.Pick(120, 60));
        while (Volatile.Read(ref accounted) < hostile && DateTime.UtcNow < until)
        {
            await Task.Delay(100);
        }

        var accountedIn = clock.Elapsed;
        // Valid calls go on a little after the last hostile record was handled.
        await Task.Delay(1_000);
        stop.Cancel();
        await valid;
        reading.Cancel();
        await Task.WhenAll(replyReader, deadReader);

        Print("R6", $"{hostile} hostile records ({sentByKind.Sum()} on the request topic, {replySentByKind.Sum()} on the reply topic, over all {ReliabilitySettings.ReplyPartitions} partitions) "
            + $"produced in {attack.TotalSeconds:0.0} s (paced by the servers' progress for {pacedFor.TotalSeconds:0.0} s); all accounted for after {accountedIn.TotalSeconds:0.0} s: {accounted == hostile}");
        for (var k = 0; k < s_requestKinds.Length; k++)
        {
            Print("R6", $"request with {s_requestKinds[k].Name}: {sentByKind[k]} sent, {answeredByKind[k]} answered with an error, {deadByKind[k]} dead-lettered");
        }

        for (var k = 0; k < s_replyKinds.Length; k++)
        {
            Print("R6", $"reply with {s_replyKinds[k]}: {replySentByKind[k]} sent, {replyDeadByKind[k]} dead-lettered");
        }

        // The mock trims its bounded logs all the time (valid traffic included); what matters is that
        // nothing was trimmed before it was read, which the accounting below checks record by record.
        var trimmed = raw.LowWatermarks(cluster.Settings.RequestTopic, ReliabilitySettings.RequestPartitions)
            .Concat(raw.LowWatermarks(cluster.Settings.ReplyTopic, ReliabilitySettings.ReplyPartitions)).Sum();
        Print("R6", $"handled again after a partition moved (counted once): {repeated}; OK replies to hostile requests: {okReplies}; dead letters without a reason: {unreasoned}; reply partitions adopted: {_metrics["typedrpc.kafka.leases[event=adopted]"]}, leases lost: {_metrics["typedrpc.kafka.leases[event=lost]"]}; records trimmed from the mock's logs by the end (read or not): {trimmed}");
        Print("R6", $"valid calls during the attack: {outcomes}" + (failedIds.IsEmpty ? "" : "; failed: " + string.Join("; ", failedIds.Take(10))));

        Assert.Equal(0, okReplies);
        Assert.Equal(0, unreasoned);
        for (var k = 0; k < s_requestKinds.Length; k++)
        {
            var expected = s_requestKinds[k].DeadLetter ? (0, sentByKind[k]) : (sentByKind[k], 0);
            Assert.True(expected == (answeredByKind[k], deadByKind[k]), $"request with {s_requestKinds[k].Name}: expected (answered, dead-lettered) {expected}, got ({answeredByKind[k]}, {deadByKind[k]})");
        }

        Assert.Equal(replySentByKind, replyDeadByKind);
        Assert.True(outcomes.Ok > 0);
        Assert.Empty(outcomes.Unexplained);
        Assert.Equal(outcomes.Total, outcomes.Ok);
    }

    private static byte[] Tag(string topic, int kind, int n) => Encoding.UTF8.GetBytes($"{topic}|{kind}|{n}");

    private static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static Headers HostileRequest(int kind, CorrelationId id, Random random, string replyTopic)
    {
        var headers = RawKafka.RequestHeaders(id, "reliability/Process", replyTopic, random.Next(0, 4));
        return kind switch
        {
            0 => new Headers(),
            1 => Without(headers, "trpc-id"),
            2 => Replace(headers, "trpc-id", new byte[16]),
            3 => Replace(headers, "trpc-reply", [0, 0]),
            4 => With(headers, "trpc-deadline", Bytes(random, 3)),
            5 => With(headers, "trpc-id", CorrelationId.NewId().ToByteArray()),
            6 => Replace(headers, "trpc-owner", Encoding.UTF8.GetBytes(new string('o', 200_000))),
            7 => Replace(headers, "trpc-v", [7]),
            8 => Replace(headers, "trpc-method", Encoding.UTF8.GetBytes("reliability/NoSuchMethod")),
            9 => Replace(headers, "trpc-method", Encoding.UTF8.GetBytes("nosuchservice/Process")),
            10 => Replace(headers, "trpc-method", [0xC3, 0x28, 0xFF, 0xFE]),
            11 => Replace(headers, "trpc-deadline", Int64(-5)),
            12 => Replace(headers, "trpc-deadline", Int64(long.MaxValue)),
            17 => ManyHeaders(headers, 200),
            _ => headers,
        };
    }

    private static byte[] HostilePayload(int kind, Random random) => kind switch
    {
        13 => Encoding.UTF8.GetBytes("{\"delayMs\":\"abc\",\"options\":[1,2]}"),
        14 => Encoding.UTF8.GetBytes("{\"delayMs\":" + new string('9', 600_000) + "}"),
        15 => [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D],
        16 => Encoding.UTF8.GetBytes("[1,2,3]"),
        _ => Bytes(random, random.Next(0, 512)),
    };

    private static Headers HostileReply(int kind, Random random)
    {
        var id = CorrelationId.NewId().ToByteArray();
        var good = new Headers { { "trpc-v", [1] }, { "trpc-id", id }, { "trpc-status", [0] }, { "trpc-seq", [0, 0, 0, 0] }, { "trpc-end", [1] } };
        return kind switch
        {
            0 => new Headers(),
            1 => Replace(good, "trpc-id", Bytes(random, 5)),
            2 => Replace(good, "trpc-v", [9]),
            3 => Replace(good, "trpc-status", [200]),
            4 => Without(good, "trpc-seq"),
            _ => With(good, "trpc-status", [13]),
        };
    }

    private static byte[] Int64(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    private static Headers ManyHeaders(Headers headers, int count)
    {
        for (var i = 0; i < count; i++)
        {
            headers.Add("x-h" + i, [(byte)'v']);
        }

        return headers;
    }

    private static Headers With(Headers headers, string name, byte[] value)
    {
        headers.Add(name, value);
        return headers;
    }

    private static Headers Without(Headers headers, string name)
    {
        var copy = new Headers();
        foreach (var h in headers.Where(h => h.Key != name))
        {
            copy.Add(h.Key, h.GetValueBytes());
        }

        return copy;
    }

    private static Headers Replace(Headers headers, string name, byte[] value)
    {
        var copy = Without(headers, name);
        copy.Add(name, value);
        return copy;
    }
}
