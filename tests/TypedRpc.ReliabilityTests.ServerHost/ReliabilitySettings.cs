using System;
using System.Collections.Generic;
using System.Globalization;
using TypedRpc.Kafka;
using TypedRpc.Redis;

namespace TypedRpc.ReliabilityTests.ServerHost;

/// <summary>
/// Everything a reliability deployment's instances share — in the test process and in a server
/// host process (passed on its command line) — so both configure themselves the same way.
/// </summary>
public sealed record ReliabilitySettings(string Bootstrap, string Name, string Redis, string Namespace, int ClaimTtlMs = 3_000, int SessionTimeoutMs = 3_000)
{
    /// <summary>The request topic of the reliability contract.</summary>
    public string RequestTopic => Name + ".reliability.requests";

    /// <summary>The client group's reply topic.</summary>
    public string ReplyTopic => Name + ".replies";

    /// <summary>Where records no consumer can handle go.</summary>
    public string DeadLetterTopic => Name + ".dead-letters";

    /// <summary>Request partitions: a few per server instance, so a dead member's partitions spread over the others.</summary>
    public const int RequestPartitions = 6;

    /// <summary>Reply partitions: more than the most client instances a test runs.</summary>
    public const int ReplyPartitions = 12;

    /// <summary>Engine settings: short claims, so a dead server's requests are taken over within seconds.</summary>
    public void Configure(TypedRpcOptions o)
    {
        o.StoreOperationTimeout = TimeSpan.FromMilliseconds(Math.Min(1_000, ClaimTtlMs / 3));
        o.ClaimTimeToLive = TimeSpan.FromMilliseconds(ClaimTtlMs);
        o.MaxConcurrentRequests = 128;
    }

    /// <summary>Kafka settings: the names above, short sessions (a killed member is noticed within seconds).</summary>
    public void Configure(KafkaTransportOptions o, bool embedded)
    {
        o.BootstrapServers = Bootstrap;
        o.ClientGroup = Name;
        o.RequestTopics["reliability"] = RequestTopic;
        o.ServerGroupPrefix = Name + ".";
        o.DeadLetterTopic = DeadLetterTopic;
        o.ReplyPartitions = ReplyPartitions;
        o.RequestPartitions = RequestPartitions;
        o.FetchWaitMax = TimeSpan.FromMilliseconds(embedded ? 1 : 10);
        o.LeaseTimeToLive = TimeSpan.FromSeconds(2);
        o.LeaseRenewInterval = TimeSpan.FromMilliseconds(500);
        o.CloseTimeout = TimeSpan.FromSeconds(3);
        o.Settings["session.timeout.ms"] = SessionTimeoutMs.ToString(CultureInfo.InvariantCulture);
        o.Settings["heartbeat.interval.ms"] = "500";
        if (Environment.GetEnvironmentVariable("TYPEDRPC_KAFKA_DEBUG") is { Length: > 0 } debug)
        {
            // librdkafka's debug contexts (e.g. "cgrp,eos") for diagnosing a fault test; its lines
            // reach the instance's logger at Debug.
            o.Settings["debug"] = debug;
        }
    }

    /// <summary>Redis settings: the shared server, the deployment's namespace.</summary>
    public void Configure(RedisOwnershipStoreOptions o)
    {
        o.Configuration = Redis;
        o.Namespace = Namespace;
        o.OperationTimeout = TimeSpan.FromMilliseconds(Math.Min(1_000, ClaimTtlMs / 3));
    }

    /// <summary>The command line that hands these settings to a server host process.</summary>
    public IEnumerable<string> ToArguments(string instanceId, bool embedded) =>
    [
        "--bootstrap", Bootstrap, "--name", Name, "--redis", Redis, "--namespace", Namespace,
        "--claim-ttl-ms", ClaimTtlMs.ToString(CultureInfo.InvariantCulture),
        "--session-timeout-ms", SessionTimeoutMs.ToString(CultureInfo.InvariantCulture),
        "--instance", instanceId, "--embedded", embedded ? "1" : "0",
    ];
}
