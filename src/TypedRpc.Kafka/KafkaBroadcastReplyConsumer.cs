using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using TypedRpc.Transport;

namespace TypedRpc.Kafka;

/// <summary>
/// Replies by broadcast (<see cref="ReplyRouting.Broadcast"/>): every partition of the reply topic
/// assigned by hand, so this instance reads every reply and the owner record decides who completes.
/// </summary>
internal sealed class KafkaBroadcastReplyConsumer : KafkaReplyConsumerBase
{
    public KafkaBroadcastReplyConsumer(KafkaTransportOptions options, string instanceId, RpcReplyHandler handler, ILogger logger,
        Func<ConsumeResult<byte[]?, byte[]?>, string, Task> deadLetter)
        : base(options, BroadcastConfig(options, instanceId), logger, "TypedRpc replies (broadcast) " + instanceId, joinsGroup: false, handler, deadLetter)
    {
    }

    /// <summary>No partition: a reply may go to any, since every instance reads them all.</summary>
    public override RpcReplyAddress Address => new(Topic, -1);

    public override bool ReceivesEveryReply => true;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Every partition, assigned by hand at its current end (resolved now): no group join, and
        // no window in which "latest" could skip a reply produced right after start-up.
        await Task.Run(AssignEverything, cancellationToken).ConfigureAwait(false);
        StartLoop();
        Log.ReplyPartitionChosen(Logger, "(broadcast)", Topic, -1, "broadcast");
    }

    private static ConsumerConfig BroadcastConfig(KafkaTransportOptions options, string instanceId)
    {
        // A group id of its own, only for the commits: the consumer never joins it.
        var config = KafkaClientConfig.Consumer(options, $"trpc.replies.{options.ClientGroup}.{instanceId}");
        // Where an assigned position is no longer on the broker, read from the earliest record rather than skip replies.
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        return config;
    }

    private void AssignEverything()
    {
        var all = TopicPartitions();
        if (all.Count == 0)
        {
            throw new InvalidOperationException($"The reply topic '{Topic}' does not exist or has no partitions.");
        }

        var positions = new List<TopicPartitionOffset>(all.Count);
        foreach (var partition in all)
        {
            positions.Add(new TopicPartitionOffset(partition, Consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High));
            Offsets.Track(partition.Partition.Value);
        }

        Consumer.Assign(positions);
    }
}
