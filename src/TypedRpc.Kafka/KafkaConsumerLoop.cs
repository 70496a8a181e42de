using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace TypedRpc.Kafka;

/// <summary>
/// What every TypedRpc consumer does the same way: the blocking <c>Consume</c> loop on a thread of
/// its own, which stops on a fatal error; each partition's finished records committed in order
/// every commit interval; a bounded <c>Close</c> on dispose; and an abandon that stops as a killed
/// process would (no commit, no <c>Close</c>).
/// </summary>
internal abstract class KafkaConsumerLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private readonly int _pollMilliseconds;
    private readonly long _commitIntervalMilliseconds;
    private int _started;
    private int _disposed;

    /// <param name="options">The transport's settings (<see cref="KafkaTransportOptions.CloseTimeout"/>).</param>
    /// <param name="config">The consumer's configuration.</param>
    /// <param name="topic">The one topic this consumer reads.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="threadName">The loop thread's name.</param>
    /// <param name="pollMilliseconds">How long one <c>Consume</c> waits for a record.</param>
    /// <param name="commitIntervalMilliseconds">How often finished records are committed.</param>
    /// <param name="joinsGroup">Whether the consumer subscribes (a group member gets rebalance callbacks) rather than assigning partitions by hand.</param>
    protected KafkaConsumerLoop(KafkaTransportOptions options, ConsumerConfig config, string topic, ILogger logger, string threadName,
        int pollMilliseconds, int commitIntervalMilliseconds, bool joinsGroup)
    {
        Options = options;
        Topic = topic;
        Logger = logger;
        _pollMilliseconds = pollMilliseconds;
        _commitIntervalMilliseconds = commitIntervalMilliseconds;
        var builder = new ConsumerBuilder<byte[]?, byte[]?>(config);
        if (joinsGroup)
        {
            // Action-style handlers that never throw: Confluent.Kafka rethrows a handler's exception
            // from Consume, which would end the loop.
            builder
                .SetPartitionsAssignedHandler((_, partitions) => Guard(() => OnAssigned(partitions)))
                .SetPartitionsRevokedHandler((_, partitions) => Guard(() => OnRevoked(partitions)))
                .SetPartitionsLostHandler((_, partitions) => Guard(() => OnLost(partitions)));
        }

        Consumer = builder
            .SetErrorHandler((_, error) => Log.ConsumeError(Logger, Topic, error.Reason))
            .SetLogHandler((_, message) => Log.Librdkafka(Logger, message.Name, message.Facility, message.Message))
            .Build();
        _thread = new Thread(Run) { IsBackground = true, Name = threadName };
    }

    /// <summary>The transport's settings.</summary>
    protected KafkaTransportOptions Options { get; }

    /// <summary>The topic this consumer reads.</summary>
    protected string Topic { get; }

    /// <summary>The logger.</summary>
    protected ILogger Logger { get; }

    /// <summary>The Kafka consumer.</summary>
    protected IConsumer<byte[]?, byte[]?> Consumer { get; }

    /// <summary>The in-order commit tracking of each partition read.</summary>
    protected PartitionOffsetTable Offsets { get; } = new();

    /// <summary>Cancelled when the consumer stops (disposed or abandoned).</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>Whether the consumer is stopping.</summary>
    protected bool IsStopping => _stop.IsCancellationRequested;

    /// <summary>Stops: the loop ends, <see cref="BeforeCloseAsync"/> runs, finished records are committed and <c>Close</c> is given <see cref="KafkaTransportOptions.CloseTimeout"/>.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopLoopAsync().ConfigureAwait(false);
        await BeforeCloseAsync().ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
    }

    /// <summary>Stops as a crash would: nothing more is committed or released and there is no <c>Close</c> (a group finds out by session timeout).</summary>
    /// <returns>A task that completes when stopped.</returns>
    internal async Task AbandonAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        await StopLoopAsync().ConfigureAwait(false);
        Consumer.Dispose();
    }

    /// <summary>Starts the loop thread.</summary>
    protected void StartLoop()
    {
        Volatile.Write(ref _started, 1);
        _thread.Start();
    }

    /// <summary>Reads one record; the caller holds no lock. Overridden where assignments change beside the loop.</summary>
    /// <param name="millisecondsTimeout">How long to wait for a record.</param>
    /// <returns>The record, or <see langword="null"/>.</returns>
    protected virtual ConsumeResult<byte[]?, byte[]?>? Consume(int millisecondsTimeout) => Consumer.Consume(millisecondsTimeout);

    /// <summary>Hands over one record (with a message); runs on the loop thread, so it must not block for long.</summary>
    /// <param name="record">The record.</param>
    protected abstract void Deliver(ConsumeResult<byte[]?, byte[]?> record);

    /// <summary>Runs on the loop thread once the loop has ended (stopped or failed).</summary>
    protected virtual void OnLoopEnded()
    {
    }

    /// <summary>Runs after the loop has stopped, on both dispose and abandon: background work that must stop with the loop.</summary>
    /// <returns>A task that completes when that work has stopped.</returns>
    protected virtual Task OnLoopStoppedAsync() => Task.CompletedTask;

    /// <summary>Runs on dispose only, after <see cref="OnLoopStoppedAsync"/> and before the final commit and <c>Close</c>.</summary>
    /// <returns>A task that completes when done.</returns>
    protected virtual Task BeforeCloseAsync() => Task.CompletedTask;

    /// <summary>The group assigned partitions: each is tracked afresh.</summary>
    /// <param name="partitions">The partitions assigned (all of them when eager, the added ones when cooperative).</param>
    protected virtual void OnAssigned(List<TopicPartition> partitions)
    {
        foreach (var partition in partitions)
        {
            Offsets.Track(partition.Partition.Value);
        }
    }

    /// <summary>The group revoked partitions: what is finished is committed, then they are forgotten.</summary>
    /// <param name="partitions">The partitions revoked.</param>
    protected virtual void OnRevoked(List<TopicPartitionOffset> partitions)
    {
        CommitCompleted();
        foreach (var partition in partitions)
        {
            Offsets.Forget(partition.Partition.Value);
        }
    }

    /// <summary>The partitions were lost (the member was fenced): they are forgotten without a commit.</summary>
    /// <param name="partitions">The partitions lost.</param>
    protected virtual void OnLost(List<TopicPartitionOffset> partitions)
    {
        foreach (var partition in partitions)
        {
            Offsets.Forget(partition.Partition.Value);
        }
    }

    /// <summary>Commits, per partition, the position up to which every record is done.</summary>
    protected void CommitCompleted() => Commit(Offsets.TakeCommitPositions(Topic));

    /// <summary>Commits one partition's position up to which every record is done.</summary>
    /// <param name="partition">The partition.</param>
    protected void CommitCompleted(int partition)
    {
        var position = Offsets.TakeCommitPosition(partition);
        if (position >= 0)
        {
            Commit(new List<TopicPartitionOffset>(1) { new(Topic, partition, position) });
        }
    }

    /// <summary>The partitions of the topic, from the broker's metadata; empty when the topic does not exist.</summary>
    /// <returns>The partitions.</returns>
    protected List<TopicPartition> TopicPartitions()
    {
        using var admin = new DependentAdminClientBuilder(Consumer.Handle).Build();
        var metadata = admin.GetMetadata(Topic, TimeSpan.FromSeconds(10));
        var all = new List<TopicPartition>();
        foreach (var topic in metadata.Topics)
        {
            if (topic.Topic == Topic && topic.Error.Code == ErrorCode.NoError)
            {
                foreach (var partition in topic.Partitions)
                {
                    all.Add(new TopicPartition(Topic, partition.PartitionId));
                }
            }
        }

        return all;
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
                    record = Consume(_pollMilliseconds);
                }
                catch (ConsumeException ex)
                {
                    if (ex.Error.IsFatal)
                    {
                        Log.FatalConsumeError(Logger, Topic, ex.Error.Reason);
                        return;
                    }

                    Log.ConsumeError(Logger, Topic, ex.Error.Reason);
                }

                if (record?.Message is not null)
                {
                    Deliver(record);
                }

                if (Environment.TickCount64 - lastCommit >= _commitIntervalMilliseconds)
                {
                    CommitCompleted();
                    lastCommit = Environment.TickCount64;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopping while a delivery waited (for a free in-flight slot).
        }
        finally
        {
            OnLoopEnded();
            _stopped.TrySetResult();
        }
    }

    private async Task StopLoopAsync()
    {
        _stop.Cancel();
        if (Volatile.Read(ref _started) == 1)
        {
            await _stopped.Task.ConfigureAwait(false);
        }

        await OnLoopStoppedAsync().ConfigureAwait(false);
    }

    private async Task CloseAsync()
    {
        // Close can block for tens of seconds when the broker is gone: bound it and move on.
        var close = Task.Run(() =>
        {
            try
            {
                CommitCompleted();
                Consumer.Close();
            }
            catch (Exception)
            {
                // The broker may be unreachable: whoever reads these partitions next starts from the
                // last commit that got through, and its records are redelivered.
            }
            finally
            {
                Consumer.Dispose();
            }
        });
        try
        {
            await close.WaitAsync(Options.CloseTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.CloseTimedOut(Logger, Topic, Options.CloseTimeout.TotalMilliseconds);
        }
    }

    private void Commit(List<TopicPartitionOffset>? positions)
    {
        if (positions is null)
        {
            return;
        }

        try
        {
            Consumer.Commit(positions);
        }
        catch (KafkaException ex) when (ex.Error.Code is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId)
        {
            // Part of every eager rebalance (a commit between the group starting to form and this
            // member hearing of it): expected, so not a warning.
            Log.CommitDuringRebalance(Logger, Topic, ex.Error.Reason);
        }
        catch (KafkaException ex)
        {
            // A revoked partition or a broker hiccup: the records are committed by whoever reads them next.
            Log.CommitFailed(Logger, Topic, ex.Error.Reason);
        }
    }

    private void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            Log.RebalanceHandlerFailed(Logger, ex, Topic);
        }
    }
}
