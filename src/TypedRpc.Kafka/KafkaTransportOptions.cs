using System;
using System.Collections.Generic;

namespace TypedRpc.Kafka;

/// <summary>Settings of the Kafka transport (configuration section <c>TypedRpc:Kafka</c>).</summary>
public sealed class KafkaTransportOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "TypedRpc:Kafka";

    /// <summary>The Kafka bootstrap servers, <c>host:port[,host:port…]</c>. Required.</summary>
    public string BootstrapServers { get; set; } = string.Empty;

    /// <summary>
    /// The name of this caller cluster: instances of one client group share a reply topic and its
    /// partition leases. Default <c>default</c>.
    /// </summary>
    public string ClientGroup { get; set; } = "default";

    /// <summary>How replies reach the waiting instance. Default <see cref="Kafka.ReplyRouting.LeasedPartitions"/>.</summary>
    public ReplyRouting ReplyRouting { get; set; } = ReplyRouting.LeasedPartitions;

    /// <summary>The reply topic; default <c>{ClientGroup}.replies</c>.</summary>
    public string? ReplyTopic { get; set; }

    /// <summary>
    /// Partitions of the reply topic when TypedRpc creates it (<see cref="CreateTopics"/>); at least
    /// the number of instances expected in the client group. Default 32.
    /// </summary>
    public int ReplyPartitions { get; set; } = 32;

    /// <summary>Partitions of each request topic when TypedRpc creates it. Default 8.</summary>
    public int RequestPartitions { get; set; } = 8;

    /// <summary>Request topic per service name; a service not listed uses its contract's topic, else <c>{service}.requests</c>.</summary>
    public Dictionary<string, string> RequestTopics { get; } = new(StringComparer.Ordinal);

    /// <summary>The prefix of server consumer group ids: the group of a contract is <c>{prefix}{service}</c>. Default <c>trpc.</c>.</summary>
    public string ServerGroupPrefix { get; set; } = "trpc.";

    /// <summary>Create missing topics through the admin API on start (brokers without auto-creation). Default on; failures are logged.</summary>
    public bool CreateTopics { get; set; } = true;

    /// <summary>The largest record (value plus headers) the transport sends; larger ones fail with ResourceExhausted. Default 1,000,000 bytes.</summary>
    public int MaxMessageBytes { get; set; } = 1_000_000;

    /// <summary>How long the producer tries to deliver a record (<c>message.timeout.ms</c>). Default 10 s.</summary>
    public TimeSpan MessageTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a fetch waits for data (<c>fetch.wait.max.ms</c>). A real broker answers as soon as
    /// data arrives; librdkafka's mock cluster waits the whole time, so dev setups use 1 ms. Default 10 ms.
    /// </summary>
    public TimeSpan FetchWaitMax { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest a consumer's Close may take on shutdown (it can hang ~45 s when the broker is gone). Default 5 s.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a reply-partition lease holds without renewal. Default 10 s.</summary>
    public TimeSpan LeaseTimeToLive { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a lease is renewed; well under <see cref="LeaseTimeToLive"/>. Default 3 s.</summary>
    public TimeSpan LeaseRenewInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How many times a request whose handling failed (not its handler: the transport, e.g. the reply could not be sent) is retried before it is dead-lettered. Default 3.</summary>
    public int MaxDeliveryAttempts { get; set; } = 3;

    /// <summary>The topic undecodable or undeliverable records are copied to, with the reason in a header; <see langword="null"/> to only log them. Default none.</summary>
    public string? DeadLetterTopic { get; set; }

    /// <summary>
    /// librdkafka settings for every client (producer and consumers), passed through unchanged:
    /// <c>security.protocol</c>, <c>sasl.mechanism</c>, <c>sasl.username</c>, <c>ssl.ca.location</c>, …
    /// They override TypedRpc's own defaults.
    /// </summary>
    public Dictionary<string, string> Settings { get; } = new(StringComparer.Ordinal);

    /// <summary>librdkafka settings for the producer only (override <see cref="Settings"/>).</summary>
    public Dictionary<string, string> ProducerSettings { get; } = new(StringComparer.Ordinal);

    /// <summary>librdkafka settings for consumers only (override <see cref="Settings"/>).</summary>
    public Dictionary<string, string> ConsumerSettings { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The server groups' assignment strategy when <c>partition.assignment.strategy</c> is not set;
    /// null for <see cref="KafkaClientConfig.GroupAssignmentStrategy"/>. Internal: the reliability
    /// tests set it (TYPEDRPC_TEST_SERVER_ASSIGNMENT) to compare strategies per group, which the
    /// pass-through settings cannot do — they reach every consumer of an instance.
    /// </summary>
    internal Confluent.Kafka.PartitionAssignmentStrategy? ServerGroupAssignment { get; set; }

    /// <summary>
    /// The <see cref="ReplyRouting.ConsumerGroup"/> reply group's assignment strategy when
    /// <c>partition.assignment.strategy</c> is not set; null for cooperative-sticky. Internal, for the
    /// reliability tests (TYPEDRPC_TEST_REPLY_ASSIGNMENT), like <see cref="ServerGroupAssignment"/>.
    /// </summary>
    internal Confluent.Kafka.PartitionAssignmentStrategy? ReplyGroupAssignment { get; set; }

    /// <summary>The reply topic in effect.</summary>
    public string EffectiveReplyTopic => ReplyTopic ?? ClientGroup + ".replies";

    /// <summary>The request topic of a service.</summary>
    /// <param name="service">The contract.</param>
    /// <returns>The topic.</returns>
    public string RequestTopic(RpcServiceDescriptor service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return RequestTopics.TryGetValue(service.ServiceName, out var topic) ? topic : service.Topic ?? service.ServiceName + ".requests";
    }
}

/// <summary>How a caller instance receives its replies (docs/architecture.md, reply routing).</summary>
public enum ReplyRouting
{
    /// <summary>
    /// Each instance leases a partition of the client group's reply topic in the store and reads it
    /// with a manual Assign: one reader per reply, ready in tens of milliseconds, no rebalances.
    /// Needs an ownership store (without one, instances share partitions by hash).
    /// </summary>
    LeasedPartitions,

    /// <summary>
    /// One cooperative-sticky consumer group per client group spreads the reply partitions over the
    /// instances; the reply address is one of the sender's partitions. Simpler, but every
    /// membership change stalls the moved partitions while the group rebalances.
    /// </summary>
    ConsumerGroup,

    /// <summary>
    /// Every instance reads every reply (a consumer group of its own) and
    /// the owner record decides who completes. Costs one read and one owner lookup per reply per
    /// instance; kept for brokers without partitions and as the benchmark baseline.
    /// </summary>
    Broadcast,
}
