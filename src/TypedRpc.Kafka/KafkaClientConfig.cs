using System;
using System.Collections.Generic;
using Confluent.Kafka;

namespace TypedRpc.Kafka;

/// <summary>Builds librdkafka configurations: TypedRpc's defaults first, then the user's pass-through settings.</summary>
internal static class KafkaClientConfig
{
    // librdkafka backs off reconnecting to a broker exponentially up to 10 s by default, so after a
    // broker restart calls can keep failing for up to 10 s more. Callers wait on this path, so retry
    // sooner (the outage measurement is in docs/architecture.md, "Every client").
    private const int ReconnectBackoffMaxMs = 1_000;

    /// <summary>
    /// The partition assignment of the server groups (request consumers) unless
    /// <c>partition.assignment.strategy</c> is set: eager (range). Cooperative-sticky moves a dead
    /// member's partitions with less delay, but after a broker outage it often settles in a second
    /// round, so callers see failures about twice as long (measurements: docs/architecture.md, "Requests").
    /// </summary>
    public const PartitionAssignmentStrategy GroupAssignmentStrategy = PartitionAssignmentStrategy.Range;

    public static ProducerConfig Producer(KafkaTransportOptions options)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = options.BootstrapServers,
            // RPC wants each record on the wire at once: batching would add its wait to every call.
            LingerMs = 0,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = (int)options.MessageTimeout.TotalMilliseconds,
            MessageMaxBytes = Math.Max(options.MaxMessageBytes + 64 * 1024, 1_000_000),
            SocketNagleDisable = true,
            ReconnectBackoffMaxMs = ReconnectBackoffMaxMs,
        };
        Apply(config, options.Settings);
        Apply(config, options.ProducerSettings);
        return config;
    }

    public static ConsumerConfig Consumer(KafkaTransportOptions options, string groupId)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = groupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = (int)options.FetchWaitMax.TotalMilliseconds,
            SocketNagleDisable = true,
            EnablePartitionEof = false,
            ReconnectBackoffMaxMs = ReconnectBackoffMaxMs,
        };
        Apply(config, options.Settings);
        Apply(config, options.ConsumerSettings);
        return config;
    }

    private static void Apply(ClientConfig config, Dictionary<string, string> settings)
    {
        foreach (var (key, value) in settings)
        {
            config.Set(key, value);
        }
    }
}
