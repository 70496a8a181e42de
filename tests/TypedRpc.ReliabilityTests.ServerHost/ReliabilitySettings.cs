using System;
using System.Collections.Generic;
using System.Globalization;
using Confluent.Kafka;
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

    /// <summary>The variable that sets <see cref="ServerAssignment"/>.</summary>
    public const string ServerAssignmentVariable = "TYPEDRPC_TEST_SERVER_ASSIGNMENT";

    /// <summary>The variable that sets <see cref="ReplyRouting"/>.</summary>
    public const string ReplyRoutingVariable = "TYPEDRPC_TEST_REPLY_ROUTING";

    /// <summary>The variable that sets <see cref="ReplyAssignment"/>.</summary>
    public const string ReplyAssignmentVariable = "TYPEDRPC_TEST_REPLY_ASSIGNMENT";

    /// <summary>
    /// The server groups' assignment strategy (librdkafka's name: <c>range</c>, <c>roundrobin</c>,
    /// <c>cooperative-sticky</c>), or null for the transport's default.
    /// </summary>
    public string? ServerAssignment { get; init; }

    /// <summary>The reply routing of every instance, or null for the transport's default (a test may still set its own).</summary>
    public ReplyRouting? ReplyRouting { get; init; }

    /// <summary>The <see cref="Kafka.ReplyRouting.ConsumerGroup"/> reply group's assignment strategy, or null for the transport's default.</summary>
    public string? ReplyAssignment { get; init; }

    /// <summary>
    /// These settings with the test knobs from the environment (TYPEDRPC_TEST_SERVER_ASSIGNMENT,
    /// TYPEDRPC_TEST_REPLY_ROUTING, TYPEDRPC_TEST_REPLY_ASSIGNMENT), so the same fault tests run
    /// under each assignment strategy; a value that is not understood throws rather than run the
    /// defaults under another name.
    /// </summary>
    public ReliabilitySettings WithKnobsFromEnvironment()
    {
        static string? Read(string variable) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value.Trim() : null;
        var serverAssignment = Read(ServerAssignmentVariable);
        var routing = Read(ReplyRoutingVariable);
        var replyAssignment = Read(ReplyAssignmentVariable);
        return this with
        {
            ServerAssignment = serverAssignment is null ? null : Strategy(serverAssignment).Name,
            ReplyRouting = routing is null ? null : Routing(routing),
            ReplyAssignment = replyAssignment is null ? null : Strategy(replyAssignment).Name,
        };
    }

    /// <summary>The knobs in effect, for a test's figure lines (the transport's defaults are named as such).</summary>
    public string DescribeKnobs() =>
        $"server groups: {ServerAssignment ?? "default (" + Strategy(null).Name + ")"}; reply routing: {ReplyRouting?.ToString() ?? "default (LeasedPartitions)"}"
        + (ReplyRouting == Kafka.ReplyRouting.ConsumerGroup ? $", its group: {ReplyAssignment ?? "default (cooperative-sticky)"}" : "");

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
        if (ServerAssignment is not null)
        {
            o.ServerGroupAssignment = Strategy(ServerAssignment).Value;
        }

        if (ReplyRouting is { } routing)
        {
            o.ReplyRouting = routing;
        }

        if (ReplyAssignment is not null)
        {
            o.ReplyGroupAssignment = Strategy(ReplyAssignment).Value;
        }

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
        .. ServerAssignment is null ? Array.Empty<string>() : ["--server-assignment", ServerAssignment],
        .. ReplyRouting is null ? Array.Empty<string>() : ["--reply-routing", ReplyRouting.Value.ToString()],
        .. ReplyAssignment is null ? Array.Empty<string>() : ["--reply-assignment", ReplyAssignment],
    ];

    /// <summary>A reply routing by its name (any case).</summary>
    public static ReplyRouting Routing(string name)
    {
        foreach (var routing in Enum.GetValues<ReplyRouting>())
        {
            if (string.Equals(routing.ToString(), name, StringComparison.OrdinalIgnoreCase))
            {
                return routing;
            }
        }

        throw new ArgumentException($"Unknown reply routing '{name}' ({string.Join(", ", Enum.GetNames<ReplyRouting>())}).", nameof(name));
    }

    /// <summary>
    /// A strategy by librdkafka's name (null: the server groups' default), with that name as
    /// librdkafka spells it.
    /// </summary>
    public static (PartitionAssignmentStrategy Value, string Name) Strategy(string? name) => name?.ToLowerInvariant() switch
    {
        null => Strategy(KafkaClientConfig.GroupAssignmentStrategy switch
        {
            PartitionAssignmentStrategy.Range => "range",
            PartitionAssignmentStrategy.RoundRobin => "roundrobin",
            _ => "cooperative-sticky",
        }),
        "range" => (PartitionAssignmentStrategy.Range, "range"),
        "roundrobin" => (PartitionAssignmentStrategy.RoundRobin, "roundrobin"),
        "cooperative-sticky" => (PartitionAssignmentStrategy.CooperativeSticky, "cooperative-sticky"),
        _ => throw new ArgumentException($"Unknown partition assignment strategy '{name}' (range, roundrobin or cooperative-sticky).", nameof(name)),
    };
}
