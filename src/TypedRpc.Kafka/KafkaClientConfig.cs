using System;
using System.Collections.Generic;
using Confluent.Kafka;

namespace TypedRpc.Kafka;

/// <summary>Builds librdkafka configurations: TypedRpc's defaults first, then the user's pass-through settings.</summary>
internal static class KafkaClientConfig
{
    // librdkafka backs off reconnecting to a broker exponentially up to 10 s by default: after a
    // broker restart every call then fails for up to 10 s more (measured in R5: first success 10.3 s
    // after the broker returned; 0.6-1 s with 1 s). Callers wait on this path, so retry sooner.
    private const int ReconnectBackoffMaxMs = 1_000;

    /// <summary>
    /// The partition assignment of the server groups (request consumers) unless
    /// <c>partition.assignment.strategy</c> is set: eager (range). With cooperative-sticky, librdkafka before the fix of its issue #4059
    /// (Debian's 2.0.2, and the 1.9 that Confluent.Kafka 1.9.3 ships) drops a member's whole
    /// assignment and rejoins when an offset commit sent during a rebalance comes back "illegal
    /// generation" — and members commit while they keep their partitions through a cooperative
    /// rebalance, so every rebalance could start the next: after a broker outage (R5) the server
    /// group rebalanced every ~2 s for over 30 s and callers timed out every few seconds. An eager
    /// member gives its partitions up (committing what is done) before it rejoins, so it has nothing
    /// to commit while the group forms.
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
