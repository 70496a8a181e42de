using System;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using TypedRpc.Transport;

namespace TypedRpc.Kafka;

/// <summary>
/// One caller instance's replies (<see cref="ReplyRouting.LeasedPartitions"/>): a partition of the
/// client group's reply topic, leased in the <see cref="IReplyPartitionLeaseStore"/> (<see cref="ReplyPartitionLeaser"/>) and
/// read with a manual Assign — no group join, so the instance is ready in tens of milliseconds and
/// its arrival or departure pauses nobody. Partitions adopted from a dead instance are read by the
/// same consumer until the leaser lets them go.
/// </summary>
internal sealed class KafkaReplyConsumer : KafkaReplyConsumerBase, IReplyPartitionReader
{
    private static readonly TimeSpan StartLookupTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan OrphanLookupTimeout = TimeSpan.FromSeconds(5);

    // Held by Consume and by every assignment change, so partitions (and their offset tracking)
    // come and go only between two Consume calls.
    private readonly object _assignLock = new();
    private readonly ReplyPartitionLeaser _leaser;

    public KafkaReplyConsumer(KafkaTransportOptions options, IReplyPartitionLeaseStore? leases, string instanceId, RpcReplyHandler handler, ILogger logger,
        Func<ConsumeResult<byte[]?, byte[]?>, string, Task> deadLetter)
        // An Assign-only consumer still needs a group id (for its commits); it never joins the group.
        : base(options, KafkaClientConfig.Consumer(options, "trpc.replies." + options.ClientGroup), logger, "TypedRpc replies " + instanceId,
            joinsGroup: false, handler, deadLetter)
    {
        _leaser = new ReplyPartitionLeaser(leases, this, options, instanceId, Topic, logger, Stopping);
    }

    public override RpcReplyAddress Address => new(Topic, _leaser.Partition);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Fetching metadata first makes the Assign deliver in ~20 ms instead of ~500 ms.
        var partitions = await Task.Run(() => TopicPartitions().Count, cancellationToken).ConfigureAwait(false);
        if (partitions == 0)
        {
            throw new InvalidOperationException($"The reply topic '{Topic}' does not exist or has no partitions; create it with {Options.ReplyPartitions} partitions (TypedRpc:Kafka:ReplyTopic).");
        }

        await _leaser.AcquireAsync(partitions, cancellationToken).ConfigureAwait(false);
        StartLoop();
        _leaser.StartRenewing();
    }

    void IReplyPartitionReader.Read(int partition)
    {
        var offset = StartOffset(partition);
        lock (_assignLock)
        {
            Offsets.Track(partition);
            Consumer.IncrementalAssign(new[] { new TopicPartitionOffset(Topic, partition, offset) });
        }
    }

    void IReplyPartitionReader.Adopt(int partition, long position)
    {
        lock (_assignLock)
        {
            Offsets.Track(partition);
            Consumer.IncrementalAssign(new[] { new TopicPartitionOffset(Topic, partition, position) });
        }
    }

    void IReplyPartitionReader.Stop(int partition)
    {
        CommitCompleted(partition);
        lock (_assignLock)
        {
            Consumer.IncrementalUnassign(new[] { new TopicPartition(Topic, partition) });
            Offsets.Forget(partition);
        }
    }

    bool IReplyPartitionReader.HasUnread(int partition, out long position, out long end)
    {
        var topicPartition = new TopicPartition(Topic, partition);
        var committed = Consumer.Committed(new[] { topicPartition }, OrphanLookupTimeout);
        var watermarks = Consumer.QueryWatermarkOffsets(topicPartition, OrphanLookupTimeout);
        position = committed.Count == 1 && committed[0].Offset.Value >= 0 ? committed[0].Offset.Value : watermarks.Low.Value;
        end = watermarks.High.Value;
        return position < end;
    }

    int IReplyPartitionReader.InFlight(int partition) => Offsets.InFlight(partition);

    protected override ConsumeResult<byte[]?, byte[]?>? Consume(int millisecondsTimeout)
    {
        lock (_assignLock)
        {
            return Consumer.Consume(millisecondsTimeout);
        }
    }

    protected override void Deliver(ConsumeResult<byte[]?, byte[]?> record)
    {
        _leaser.NoteRecord(record.Partition.Value);
        base.Deliver(record);
    }

    protected override Task OnLoopStoppedAsync() => _leaser.StopAsync();

    protected override Task BeforeCloseAsync() => _leaser.ReleaseAsync();

    /// <summary>
    /// Where to start reading: where the previous reader committed (a partition taken over), else
    /// the current end — resolved now, so no reply produced after we return is missed.
    /// </summary>
    private long StartOffset(int partition)
    {
        var topicPartition = new TopicPartition(Topic, partition);
        var committed = Consumer.Committed(new[] { topicPartition }, StartLookupTimeout);
        if (committed.Count == 1 && committed[0].Offset.Value >= 0)
        {
            return committed[0].Offset.Value;
        }

        return Consumer.QueryWatermarkOffsets(topicPartition, StartLookupTimeout).High.Value;
    }
}
