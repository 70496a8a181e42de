using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using TypedRpc.Transport;

namespace TypedRpc.Kafka;

/// <summary>
/// Replies through one cooperative-sticky consumer group per client group
/// (<see cref="ReplyRouting.ConsumerGroup"/>): the address is the lowest of this instance's
/// assigned partitions, and replies on partitions that moved are forwarded by their new reader.
/// </summary>
internal sealed class KafkaGroupReplyConsumer : KafkaReplyConsumerBase
{
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile int _partition = -1;

    public KafkaGroupReplyConsumer(KafkaTransportOptions options, string instanceId, RpcReplyHandler handler, ILogger logger,
        Func<ConsumeResult<byte[]?, byte[]?>, string, Task> deadLetter)
        : base(options, GroupConfig(options), logger, "TypedRpc replies (group) " + instanceId, joinsGroup: true, handler, deadLetter)
    {
    }

    public override RpcReplyAddress Address => new(Topic, _partition);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await Task.Run(CommitStartPositions, cancellationToken).ConfigureAwait(false);
        Consumer.Subscribe(Topic);
        StartLoop();
        // The group join must finish before a request can name a partition (a broker may hold a new
        // group back for group.initial.rebalance.delay.ms, 3 s by default).
        await _assigned.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        Log.ReplyPartitionChosen(Logger, "(group)", Topic, _partition, "consumer group");
    }

    protected override void OnAssigned(List<TopicPartition> partitions)
    {
        base.OnAssigned(partitions);
        ChooseAddress();
        if (Offsets.Count > 0)
        {
            _assigned.TrySetResult();
        }
    }

    protected override void OnRevoked(List<TopicPartitionOffset> partitions)
    {
        base.OnRevoked(partitions);
        ChooseAddress();
    }

    protected override void OnLost(List<TopicPartitionOffset> partitions)
    {
        base.OnLost(partitions);
        ChooseAddress();
    }

    private static ConsumerConfig GroupConfig(KafkaTransportOptions options)
    {
        var config = KafkaClientConfig.Consumer(options, "trpc.replies.group." + options.ClientGroup);
        // Partitions get an explicit start (CommitStartPositions); a partition that somehow has none
        // is read from its beginning rather than risk skipping a reply.
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        // Cooperative, unlike the server group (KafkaClientConfig.GroupAssignmentStrategy): with an
        // eager assignment every join or leave would stop every caller's replies for the whole
        // rebalance.
        config.PartitionAssignmentStrategy ??= options.ReplyGroupAssignment ?? PartitionAssignmentStrategy.CooperativeSticky;
        return config;
    }

    /// <summary>
    /// A partition the group never committed would be read from "latest" by whoever gets it after a
    /// rebalance — skipping the replies that arrived in between. So the group's first member commits
    /// the current end of every partition that has no position yet, before it joins.
    /// </summary>
    private void CommitStartPositions()
    {
        var all = TopicPartitions();
        if (all.Count == 0)
        {
            throw new InvalidOperationException($"The reply topic '{Topic}' does not exist or has no partitions.");
        }

        var start = new List<TopicPartitionOffset>();
        foreach (var committed in Consumer.Committed(all, TimeSpan.FromSeconds(10)))
        {
            if (committed.Offset.Value < 0)
            {
                start.Add(new TopicPartitionOffset(committed.TopicPartition, Consumer.QueryWatermarkOffsets(committed.TopicPartition, TimeSpan.FromSeconds(10)).High));
            }
        }

        if (start.Count > 0)
        {
            try
            {
                Consumer.Commit(start);
            }
            catch (KafkaException ex)
            {
                // The group already has members (they committed when they started): nothing to do.
                Log.CommitFailed(Logger, Topic, ex.Error.Reason);
            }
        }
    }

    private void ChooseAddress()
    {
        var lowest = Offsets.LowestPartition();
        if (lowest >= 0)
        {
            _partition = lowest;
        }
    }
}
