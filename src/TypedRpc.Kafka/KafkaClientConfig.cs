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
    /// <c>partition.assignment.strategy</c> is set: eager (range). Measured on librdkafka 2.16
    /// (docs/architecture.md, "Requests"): cooperative-sticky no longer storms as it did on 2.0.2
    /// (issue #4059, fixed in 2.10) and halves R1's median latency, but after a broker outage it
    /// settled in a second round in 3 of 4 R5 runs (every call OK from ~4 s after the broker
    /// returned, range ~2 s in 4 of 4), so range stays.
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
