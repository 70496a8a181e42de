using System;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.Kafka;

/// <summary>
/// One caller instance's replies: a partition of the client group's reply topic, leased in the
/// ownership store and read with a manual Assign (no group join, so the instance is ready in tens
/// of milliseconds and its arrival or departure pauses nobody). With more instances than
/// partitions, or without a store, instances share a partition and forward what is not theirs.
/// A partition whose lease expired with replies still unread (its holder died) is adopted by a
/// live instance, which reads it until it is drained and forwards what it finds; then it lets go.
/// </summary>
internal sealed class KafkaReplyConsumer : IRpcReplySubscription
{
    private readonly KafkaTransportOptions _options;
    private readonly IRpcOwnershipStore? _store;
    private readonly string _instanceId;
    private readonly RpcReplyHandler _handler;
    private readonly ILogger _logger;
    private readonly string _topic;
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _assignLock = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, PartitionOffsets> _offsets = new();
    private readonly System.Collections.Generic.Dictionary<int, long> _adopted = new();
    private Thread? _thread;
    private Task? _renewal;
    private volatile int _partition = -1;
    private volatile bool _leased;
    private int _disposed;

    private readonly Func<ConsumeResult<byte[]?, byte[]?>, string, Task> _deadLetter;

    public KafkaReplyConsumer(KafkaTransportOptions options, IRpcOwnershipStore? store, string instanceId, RpcReplyHandler handler, ILogger logger,
        Func<ConsumeResult<byte[]?, byte[]?>, string, Task> deadLetter)
    {
        _deadLetter = deadLetter;
        _options = options;
        _store = store;
        _instanceId = instanceId;
        _handler = handler;
        _logger = logger;
        _topic = options.EffectiveReplyTopic;
        // An Assign-only consumer still needs a group id (for its commits); it never joins the group.
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(KafkaClientConfig.Consumer(options, "trpc.replies." + options.ClientGroup))
            .SetErrorHandler((_, error) => Log.ConsumeError(_logger, _topic, error.Reason))
            .SetLogHandler((_, message) => Log.Librdkafka(_logger, message.Name, message.Facility, message.Message))
            .Build();
    }

    public RpcReplyAddress Address => new(_topic, _partition);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Fetching metadata first makes the Assign deliver in ~20 ms instead of ~500 ms.
        var partitions = await Task.Run(() => PartitionCount(), cancellationToken).ConfigureAwait(false);
        int partition;
        try
        {
            partition = await ChoosePartitionAsync(partitions, exclude: -1, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store is unreachable: start sharing the instance's home partition rather than not
            // at all. Replies that land here for others are forwarded once the store is back, and
            // the renewal loop takes a lease of its own as soon as it can.
            partition = (int)((uint)StableHash(_instanceId) % (uint)partitions);
            _leased = false;
            Log.LeaseRenewFailed(_logger, ex, _topic, partition);
        }

        Assign(partition);
        _thread = new Thread(Run) { IsBackground = true, Name = "TypedRpc replies " + _instanceId };
        _thread.Start();
        if (_store is not null)
        {
            _renewal = RenewLoopAsync(partitions);
        }
    }

    /// <summary>Stops reading as a crash would: no commit, no lease release, no Close.</summary>
    internal async Task AbandonAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _stop.Cancel();
        if (_thread is not null)
        {
            await _stopped.Task.ConfigureAwait(false);
        }

        if (_renewal is not null)
        {
            await _renewal.ConfigureAwait(false);
        }

        _consumer.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stop.Cancel();
        if (_thread is not null)
        {
            await _stopped.Task.ConfigureAwait(false);
        }

        if (_renewal is not null)
        {
            await _renewal.ConfigureAwait(false);
        }

        if (_store is not null)
        {
            int[] adopted;
            lock (_adopted)
            {
                adopted = new int[_adopted.Count];
                _adopted.Keys.CopyTo(adopted, 0);
            }

            foreach (var partition in adopted)
            {
                Log.LeaseEvent("released");
                try
                {
                    await _store.ReleaseLeaseAsync(_options.ClientGroup, partition, _instanceId, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.LeaseRenewFailed(_logger, ex, _topic, partition);
                }
            }
        }

        if (_store is not null && _leased)
        {
            Log.LeaseEvent("released");
            try
            {
                await _store.ReleaseLeaseAsync(_options.ClientGroup, _partition, _instanceId, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.LeaseRenewFailed(_logger, ex, _topic, _partition);
            }
        }

        var close = Task.Run(() =>
        {
            try
            {
                Commit();
                _consumer.Close();
            }
            catch (Exception)
            {
                // Broker gone: the next holder starts from the last commit that got through.
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

    private int PartitionCount()
    {
        using var admin = new DependentAdminClientBuilder(_consumer.Handle).Build();
        var metadata = admin.GetMetadata(_topic, TimeSpan.FromSeconds(10));
        foreach (var topic in metadata.Topics)
        {
            if (topic.Topic == _topic && topic.Error.Code == ErrorCode.NoError && topic.Partitions.Count > 0)
            {
                return topic.Partitions.Count;
            }
        }

        throw new InvalidOperationException($"The reply topic '{_topic}' does not exist or has no partitions; create it with {_options.ReplyPartitions} partitions (TypedRpc:Kafka:ReplyTopic).");
    }

    private async Task<int> ChoosePartitionAsync(int partitions, int exclude, CancellationToken cancellationToken)
    {
        var start = (int)((uint)StableHash(_instanceId) % (uint)partitions);
        if (_store is not null)
        {
            for (var i = 0; i < partitions; i++)
            {
                var candidate = (start + i) % partitions;
                bool adopted;
                lock (_adopted)
                {
                    adopted = _adopted.ContainsKey(candidate);
                }

                // A partition this instance holds as an adopter is not free: leasing it too would
                // assign it twice (refused) and, once the adoption ends, let go of the new lease as
                // well — the instance would wait for replies on a partition nobody reads (R5: after
                // a broker outage, leases expired, one instance adopted the partition another then
                // moved to, and every call of that instance timed out from then on).
                if (candidate == exclude || adopted)
                {
                    continue;
                }

                if (await _store.TryAcquireLeaseAsync(_options.ClientGroup, candidate, _instanceId, _options.LeaseTimeToLive, cancellationToken).ConfigureAwait(false))
                {
                    _leased = true;
                    Log.LeaseEvent("acquired");
                    Log.ReplyPartitionChosen(_logger, _instanceId, _topic, candidate, "leased");
                    return candidate;
                }
            }
        }

        // Every partition is leased (more instances than partitions), or there is no store:
        // share one; replies for others are forwarded through the store.
        _leased = false;
        Log.ReplyPartitionChosen(_logger, _instanceId, _topic, start, "shared");
        return start;
    }

    private void Assign(int partition)
    {
        var offset = StartOffset(partition);
        lock (_assignLock)
        {
            _offsets[partition] = new PartitionOffsets();
            _consumer.IncrementalAssign(new[] { new TopicPartitionOffset(_topic, partition, offset) });
            _partition = partition;
        }
    }

    private void Unassign(int partition)
    {
        CommitPartition(partition);
        lock (_assignLock)
        {
            _consumer.IncrementalUnassign(new[] { new TopicPartition(_topic, partition) });
            _offsets.TryRemove(partition, out _);
        }
    }

    /// <summary>
    /// Where to start reading: where the previous reader committed (a partition taken over), else
    /// the current end — resolved now, so no reply produced after we return is missed.
    /// </summary>
    private long StartOffset(int partition)
    {
        var topicPartition = new TopicPartition(_topic, partition);
        var committed = _consumer.Committed(new[] { topicPartition }, TimeSpan.FromSeconds(10));
        if (committed.Count == 1 && committed[0].Offset.Value >= 0)
        {
            return committed[0].Offset.Value;
        }

        return _consumer.QueryWatermarkOffsets(topicPartition, TimeSpan.FromSeconds(10)).High.Value;
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
                    lock (_assignLock)
                    {
                        record = _consumer.Consume(50);
                    }
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
                    Commit();
                    lastCommit = Environment.TickCount64;
                }
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void Deliver(ConsumeResult<byte[]?, byte[]?> record)
    {
        lock (_adopted)
        {
            if (_adopted.ContainsKey(record.Partition.Value))
            {
                _adopted[record.Partition.Value] = Environment.TickCount64;
            }
        }

        KafkaConsumerSupport.DeliverReply(record, _options.MaxMessageBytes, _offsets.GetOrAdd(record.Partition.Value, static _ => new PartitionOffsets()), _handler, _logger, _deadLetter, _stop.Token);
    }

    private void Commit() =>
        KafkaConsumerSupport.CommitCompleted(_consumer, _offsets, partition => new TopicPartition(_topic, partition), _topic, _logger);

    private void CommitPartition(int partition)
    {
        if (!_offsets.TryGetValue(partition, out var offsets))
        {
            return;
        }

        var position = offsets.TakeCommitPosition();
        if (position < 0)
        {
            return;
        }

        try
        {
            _consumer.Commit(new[] { new TopicPartitionOffset(_topic, partition, position) });
        }
        catch (KafkaException ex)
        {
            Log.CommitFailed(_logger, _topic, ex.Error.Reason);
        }
    }

    private async Task RenewLoopAsync(int partitions)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.LeaseRenewInterval, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await TendAdoptedAsync(partitions).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.LeaseRenewFailed(_logger, ex, _topic, -1);
            }

            try
            {
                var partition = _partition;
                if (_leased && await _store!.RenewLeaseAsync(_options.ClientGroup, partition, _instanceId, _options.LeaseTimeToLive, _stop.Token).ConfigureAwait(false))
                {
                    continue;
                }

                if (_leased)
                {
                    // Expired (a long pause) or taken: try to take it back, else move. Calls waiting on the
                    // old partition are not lost: its new reader forwards their replies through the store.
                    if (await _store!.TryAcquireLeaseAsync(_options.ClientGroup, partition, _instanceId, _options.LeaseTimeToLive, _stop.Token).ConfigureAwait(false))
                    {
                        continue;
                    }

                    Log.LeaseEvent("lost");
                    Log.LeaseLost(_logger, _instanceId, _topic, partition);
                }

                // Not leased (sharing, or just lost it): look for a free partition.
                var next = await ChoosePartitionAsync(partitions, exclude: _leased ? partition : -1, _stop.Token).ConfigureAwait(false);
                if (next != partition)
                {
                    Unassign(partition);
                    Assign(next);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store may be briefly unreachable; the lease outlives a few missed renewals.
                Log.LeaseRenewFailed(_logger, ex, _topic, _partition);
            }
        }
    }

    /// <summary>
    /// Keeps adopted partitions (renew; let go once drained and quiet) and looks for orphans: a
    /// partition nobody leases whose committed position is behind its end holds replies of a dead
    /// instance — adopt it, read it, and forward what is read through the store.
    /// </summary>
    private async Task TendAdoptedAsync(int partitions)
    {
        var store = _store!;
        int[] adopted;
        lock (_adopted)
        {
            adopted = new int[_adopted.Count];
            _adopted.Keys.CopyTo(adopted, 0);
        }

        foreach (var partition in adopted)
        {
            long lastRecord;
            lock (_adopted)
            {
                lastRecord = _adopted[partition];
            }

            var renewed = await store.RenewLeaseAsync(_options.ClientGroup, partition, _instanceId, _options.LeaseTimeToLive, _stop.Token).ConfigureAwait(false);
            var quiet = Environment.TickCount64 - lastRecord > 2 * (long)_options.LeaseRenewInterval.TotalMilliseconds;
            var inFlight = _offsets.TryGetValue(partition, out var offsets) ? offsets.InFlight : 0;
            if (!renewed || (quiet && inFlight == 0))
            {
                Unassign(partition);
                lock (_adopted)
                {
                    _adopted.Remove(partition);
                }

                Log.LeaseEvent(renewed ? "released" : "lost");
                if (renewed)
                {
                    await store.ReleaseLeaseAsync(_options.ClientGroup, partition, _instanceId, _stop.Token).ConfigureAwait(false);
                }

                Log.PartitionReleased(_logger, _instanceId, _topic, partition);
            }
        }

        for (var partition = 0; partition < partitions; partition++)
        {
            bool mine;
            lock (_adopted)
            {
                mine = partition == _partition || _adopted.ContainsKey(partition);
            }

            if (mine || await store.GetLeaseHolderAsync(_options.ClientGroup, partition, _stop.Token).ConfigureAwait(false) is not null)
            {
                continue;
            }

            var topicPartition = new TopicPartition(_topic, partition);
            var committed = _consumer.Committed(new[] { topicPartition }, TimeSpan.FromSeconds(5));
            var watermarks = _consumer.QueryWatermarkOffsets(topicPartition, TimeSpan.FromSeconds(5));
            var position = committed.Count == 1 && committed[0].Offset.Value >= 0 ? committed[0].Offset.Value : watermarks.Low.Value;
            if (position >= watermarks.High.Value)
            {
                continue;
            }

            if (!await store.TryAcquireLeaseAsync(_options.ClientGroup, partition, _instanceId, _options.LeaseTimeToLive, _stop.Token).ConfigureAwait(false))
            {
                continue;
            }

            lock (_assignLock)
            {
                _offsets[partition] = new PartitionOffsets();
                _consumer.IncrementalAssign(new[] { new TopicPartitionOffset(topicPartition, position) });
            }

            lock (_adopted)
            {
                _adopted[partition] = Environment.TickCount64;
            }

            Log.LeaseEvent("adopted");
            Log.PartitionAdopted(_logger, _instanceId, _topic, partition, watermarks.High.Value - position);
        }
    }

    /// <summary>FNV-1a: the same instance id picks the same first partition in every process.</summary>
    private static int StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)hash;
    }
}
