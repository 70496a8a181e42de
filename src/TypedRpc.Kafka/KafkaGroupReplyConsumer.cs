using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using TypedRpc.Transport;

namespace TypedRpc.Kafka;

/// <summary>
/// Replies through a consumer group (the two non-default routings). <see cref="ReplyRouting.ConsumerGroup"/>:
/// one cooperative-sticky group per client group, the address is one of this instance's assigned
/// partitions, and replies on partitions that moved are forwarded by their new reader.
/// <see cref="ReplyRouting.Broadcast"/>: every partition assigned by hand, so this instance reads
/// every reply; the owner record decides who completes.
/// </summary>
internal sealed class KafkaGroupReplyConsumer : IRpcReplySubscription
{
    private readonly KafkaTransportOptions _options;
    private readonly RpcReplyHandler _handler;
    private readonly ILogger _logger;
    private readonly string _topic;
    private readonly bool _broadcast;
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly ConcurrentDictionary<int, PartitionOffsets> _offsets = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private volatile int _partition = -1;
    private int _disposed;

    private readonly Func<ConsumeResult<byte[]?, byte[]?>, string, Task> _deadLetter;

    public KafkaGroupReplyConsumer(KafkaTransportOptions options, string instanceId, RpcReplyHandler handler, ILogger logger, bool broadcast,
        Func<ConsumeResult<byte[]?, byte[]?>, string, Task> deadLetter)
    {
        _deadLetter = deadLetter;
        _options = options;
        _handler = handler;
        _logger = logger;
        _broadcast = broadcast;
        _topic = options.EffectiveReplyTopic;
        var group = broadcast ? $"trpc.replies.{options.ClientGroup}.{instanceId}" : "trpc.replies.group." + options.ClientGroup;
        var config = KafkaClientConfig.Consumer(options, group);
        // Consumer group: partitions get an explicit start (see StartAsync); a partition that somehow
        // has none is read from its beginning rather than risk skipping a reply. (Broadcast assigns
        // explicit offsets and never consults this.)
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        // Cooperative, unlike the server group (KafkaClientConfig.GroupAssignmentStrategy): with an
        // eager assignment every join or leave would stop every caller's replies for the whole
        // rebalance.
        config.PartitionAssignmentStrategy ??= options.ReplyGroupAssignment ?? PartitionAssignmentStrategy.CooperativeSticky;
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetPartitionsAssignedHandler((_, partitions) => Guard(() =>
            {
                foreach (var partition in partitions)
                {
                    _offsets[partition.Partition.Value] = new PartitionOffsets();
                }

                ChooseAddress();
                if (_offsets.Count > 0)
                {
                    _assigned.TrySetResult();
                }
            }))
            .SetPartitionsRevokedHandler((consumer, partitions) => Guard(() =>
            {
                Commit(consumer);
                foreach (var partition in partitions)
                {
                    _offsets.TryRemove(partition.Partition.Value, out _);
                }

                ChooseAddress();
            }))
            .SetPartitionsLostHandler((lostFrom, partitions) => Guard(() =>
            {
                foreach (var partition in partitions)
                {
                    _offsets.TryRemove(partition.Partition.Value, out _);
                }

                ChooseAddress();
            }))
            .SetErrorHandler((_, error) => Log.ConsumeError(_logger, _topic, error.Reason))
            .SetLogHandler((_, message) => Log.Librdkafka(_logger, message.Name, message.Facility, message.Message))
            .Build();
        _thread = new Thread(Run) { IsBackground = true, Name = "TypedRpc replies (group) " + instanceId };
    }

    public RpcReplyAddress Address => new(_topic, _broadcast ? -1 : _partition);

    public bool ReceivesEveryReply => _broadcast;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_broadcast)
        {
            // Every partition, assigned by hand at its current end (resolved now): no group join, and
            // no window in which "latest" could skip a reply produced right after start-up.
            await Task.Run(AssignEverything, cancellationToken).ConfigureAwait(false);
            _thread.Start();
            Log.ReplyPartitionChosen(_logger, "(broadcast)", _topic, -1, "broadcast");
            return;
        }

        await Task.Run(CommitStartPositions, cancellationToken).ConfigureAwait(false);
        _consumer.Subscribe(_topic);
        _thread.Start();
        // The group join must finish before a request can name a partition (a broker may hold a new
        // group back for group.initial.rebalance.delay.ms, 3 s by default).
        await _assigned.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        Log.ReplyPartitionChosen(_logger, "(group)", _topic, _partition, _broadcast ? "broadcast" : "consumer group");
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stop.Cancel();
        await _stopped.Task.ConfigureAwait(false);
        var close = Task.Run(() =>
        {
            try
            {
                Commit(_consumer);
                _consumer.Close();
            }
            catch (Exception)
            {
                // Broker gone: the group's next reader resumes from the last commit that got through.
            }
            finally
            {
                _consumer.Dispose();
            }
        });
        if (await Task.WhenAny(close, Task.Delay(_options.CloseTimeout)).ConfigureAwait(false) != close)
        {
            Log.CloseTimedOut(_logger, _topic, _options.CloseTimeout.TotalMilliseconds);
        }
    }

    /// <summary>Stops as a crash would (test seam).</summary>
    internal async Task AbandonAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _stop.Cancel();
        await _stopped.Task.ConfigureAwait(false);
        _consumer.Dispose();
    }

    private void AssignEverything()
    {
        var positions = new List<TopicPartitionOffset>();
        foreach (var partition in AllPartitions())
        {
            positions.Add(new TopicPartitionOffset(partition, _consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High));
            _offsets[partition.Partition.Value] = new PartitionOffsets();
        }

        _consumer.Assign(positions);
    }

    private List<TopicPartition> AllPartitions()
    {
        using var admin = new DependentAdminClientBuilder(_consumer.Handle).Build();
        var metadata = admin.GetMetadata(_topic, TimeSpan.FromSeconds(10));
        var all = new List<TopicPartition>();
        foreach (var topic in metadata.Topics)
        {
            if (topic.Topic == _topic)
            {
                foreach (var partition in topic.Partitions)
                {
                    all.Add(new TopicPartition(_topic, partition.PartitionId));
                }
            }
        }

        if (all.Count == 0)
        {
            throw new InvalidOperationException($"The reply topic '{_topic}' does not exist or has no partitions.");
        }

        return all;
    }

    /// <summary>
    /// A partition the group never committed would be read from "latest" by whoever gets it after a
    /// rebalance — skipping the replies that arrived in between. So the group's first member commits
    /// the current end of every partition that has no position yet, before it joins.
    /// </summary>
    private void CommitStartPositions()
    {
        var all = AllPartitions();
        var start = new List<TopicPartitionOffset>();
        foreach (var committed in _consumer.Committed(all, TimeSpan.FromSeconds(10)))
        {
            if (committed.Offset.Value < 0)
            {
                start.Add(new TopicPartitionOffset(committed.TopicPartition, _consumer.QueryWatermarkOffsets(committed.TopicPartition, TimeSpan.FromSeconds(10)).High));
            }
        }

        if (start.Count > 0)
        {
            try
            {
                _consumer.Commit(start);
            }
            catch (KafkaException ex)
            {
                // The group already has members (they committed when they started): nothing to do.
                Log.CommitFailed(_logger, _topic, ex.Error.Reason);
            }
        }
    }

    private void ChooseAddress()
    {
        var lowest = -1;
        foreach (var partition in _offsets.Keys)
        {
            if (lowest < 0 || partition < lowest)
            {
                lowest = partition;
            }
        }

        if (lowest >= 0)
        {
            _partition = lowest;
        }
    }

    private void Run()
    {
        var lastCommit = Environment.TickCount64;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                ConsumeResult<byte[]?, byte[]?>? record = null;
                try
                {
                    record = _consumer.Consume(50);
                }
                catch (ConsumeException ex)
                {
                    if (ex.Error.IsFatal)
                    {
                        Log.FatalConsumeError(_logger, _topic, ex.Error.Reason);
                        return;
                    }

                    Log.ConsumeError(_logger, _topic, ex.Error.Reason);
                }

                if (record?.Message is not null)
                {
                    Deliver(record);
                }

                if (Environment.TickCount64 - lastCommit >= 500)
                {
                    Commit(_consumer);
                    lastCommit = Environment.TickCount64;
                }
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void Deliver(ConsumeResult<byte[]?, byte[]?> record) =>
        KafkaConsumerSupport.DeliverReply(record, _options.MaxMessageBytes, _offsets.GetOrAdd(record.Partition.Value, static _ => new PartitionOffsets()), _handler, _logger, _deadLetter, _stop.Token);

    private void Commit(IConsumer<byte[]?, byte[]?> consumer) =>
        KafkaConsumerSupport.CommitCompleted(consumer, _offsets, partition => new TopicPartition(_topic, partition), _topic, _logger);

    private void Guard(Action action) => KafkaConsumerSupport.Guard(action, _logger, _topic);
}
