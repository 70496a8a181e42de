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
/// One server instance's membership in a contract's consumer group. The blocking Consume loop
/// runs on its own thread; each request is handled concurrently (bounded), and offsets are
/// committed per partition up to the lowest request still being handled — so a request is
/// committed only after its reply was handed to the producer.
/// </summary>
internal sealed class KafkaRequestConsumer : IRpcRequestSubscription
{
    private const int MaxInFlight = 512;
    private readonly KafkaRpcTransport _transport;
    private readonly RpcServiceDescriptor _service;
    private readonly RpcRequestHandler _handler;
    private readonly KafkaTransportOptions _options;
    private readonly ILogger _logger;
    private readonly string _topic;
    private readonly string _group;
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly ConcurrentDictionary<TopicPartition, PartitionOffsets> _offsets = new();
    private readonly SemaphoreSlim _inFlight = new(MaxInFlight, MaxInFlight);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    public KafkaRequestConsumer(KafkaRpcTransport transport, RpcServiceDescriptor service, RpcRequestHandler handler, KafkaTransportOptions options, ILogger logger)
    {
        _transport = transport;
        _service = service;
        _handler = handler;
        _options = options;
        _logger = logger;
        _topic = options.RequestTopic(service);
        _group = options.ServerGroupPrefix + service.ServiceName;
        var config = KafkaClientConfig.Consumer(options, _group);
        config.PartitionAssignmentStrategy ??= options.ServerGroupAssignment ?? KafkaClientConfig.GroupAssignmentStrategy;
        // Action-style handlers that never throw (Confluent.Kafka rethrows a handler's exception
        // from Consume, which would end the loop).
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetPartitionsAssignedHandler((_, partitions) => Guard(() =>
            {
                foreach (var partition in partitions)
                {
                    _offsets[partition] = new PartitionOffsets();
                }

                if (_assigned.TrySetResult())
                {
                    Log.FirstAssignment(_logger, _service.ServiceName, _group, partitions.Count, _topic);
                }
            }))
            .SetPartitionsRevokedHandler((consumer, partitions) => Guard(() =>
            {
                CommitCompleted(consumer);
                foreach (var partition in partitions)
                {
                    _offsets.TryRemove(partition.TopicPartition, out _);
                }
            }))
            .SetPartitionsLostHandler((lostFrom, partitions) => Guard(() =>
            {
                foreach (var partition in partitions)
                {
                    _offsets.TryRemove(partition.TopicPartition, out _);
                }
            }))
            .SetErrorHandler((_, error) => Log.ConsumeError(_logger, _topic, error.Reason))
            .SetLogHandler((_, message) => Log.Librdkafka(_logger, message.Name, message.Facility, message.Message))
            .Build();
        _thread = new Thread(Run) { IsBackground = true, Name = "TypedRpc requests " + service.ServiceName };
    }

    /// <summary>The partitions this member holds now.</summary>
    public int AssignedPartitions => _offsets.Count;

    /// <inheritdoc />
    /// <remarks>Set by the group's first rebalance that includes this member, in the assigned-partitions handler.</remarks>
    public Task Assigned => _assigned.Task;

    public void Start()
    {
        _consumer.Subscribe(_topic);
        _thread.Start();
        Log.RequestConsumerStarted(_logger, _service.ServiceName, _topic, _group);
    }

    /// <summary>Stops consuming as a crash would: nothing more is committed, the group finds out by session timeout.</summary>
    internal async Task AbandonAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _stop.Cancel();
        await _stopped.Task.ConfigureAwait(false);
        _consumer.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stop.Cancel();
        await _stopped.Task.ConfigureAwait(false);

        // Let requests already running finish (bounded), so their offsets can be committed now
        // rather than redelivered to another member.
        var until = Environment.TickCount64 + (long)_options.CloseTimeout.TotalMilliseconds;
        while (_inFlight.CurrentCount < MaxInFlight && Environment.TickCount64 < until)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }

        // Close can block for tens of seconds when the broker is gone: bound it and move on.
        var close = Task.Run(() =>
        {
            try
            {
                CommitCompleted(_consumer);
                _consumer.Close();
            }
            catch (Exception)
            {
                // The broker may be unreachable; the uncommitted requests will be redelivered.
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

    private void Run()
    {
        var lastCommit = Environment.TickCount64;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                ConsumeResult<byte[]?, byte[]?>? record;
                try
                {
                    record = _consumer.Consume(100);
                }
                catch (ConsumeException ex)
                {
                    if (ex.Error.IsFatal)
                    {
                        Log.FatalConsumeError(_logger, _topic, ex.Error.Reason);
                        return;
                    }

                    Log.ConsumeError(_logger, _topic, ex.Error.Reason);
                    continue;
                }

                if (record is not null && record.Message is not null)
                {
                    Dispatch(record);
                }

                if (Environment.TickCount64 - lastCommit >= 100)
                {
                    CommitCompleted(_consumer);
                    lastCommit = Environment.TickCount64;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        finally
        {
            // Stopped (or failed) before the group assigned this member anything.
            _assigned.TrySetCanceled();
            _stopped.TrySetResult();
        }
    }

    private void Dispatch(ConsumeResult<byte[]?, byte[]?> record)
    {
        var offsets = _offsets.GetOrAdd(record.TopicPartition, static _ => new PartitionOffsets());
        offsets.Start(record.Offset.Value);
        var request = KafkaHeaders.DecodeRequest(record, _options.MaxMessageBytes, out var reason);
        if (request is null)
        {
            // Without an id or a reply address nobody can be answered: park the record and move on.
            _ = DeadLetterThenCompleteAsync(record, reason!, offsets);
            return;
        }

        // Bound the requests in flight; the loop thread waits here, so the broker keeps the rest.
        _inFlight.Wait(_stop.Token);
        _ = HandleAsync(request, record, offsets);
    }

    private async Task HandleAsync(RpcRequest request, ConsumeResult<byte[]?, byte[]?> record, PartitionOffsets offsets)
    {
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await _handler(request, _stop.Token).ConfigureAwait(false);
                    offsets.Complete(record.Offset.Value);
                    return;
                }
                catch (Exception ex) when (_stop.IsCancellationRequested || ex is RpcDeliveryAbandonedException)
                {
                    // Shutting down (this consumer, or the engine before it): leave it uncommitted
                    // so the next member of the group runs it — not a failed attempt.
                    return;
                }
                catch (Exception ex) when (attempt < _options.MaxDeliveryAttempts)
                {
                    Log.DeliveryFailed(_logger, ex, request.Id, attempt, _options.MaxDeliveryAttempts);
                    await Task.Delay(100 * attempt * attempt, _stop.Token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.DeliveryFailed(_logger, ex, request.Id, attempt, _options.MaxDeliveryAttempts);
                    await DeadLetterThenCompleteAsync(record, "handling failed " + attempt + " times: " + ex.Message, offsets).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping during a retry delay.
        }
        finally
        {
            _inFlight.Release();
        }
    }

    private async Task DeadLetterThenCompleteAsync(ConsumeResult<byte[]?, byte[]?> record, string reason, PartitionOffsets offsets)
    {
        await _transport.DeadLetterAsync(record, reason).ConfigureAwait(false);
        offsets.Complete(record.Offset.Value);
    }

    private void CommitCompleted(IConsumer<byte[]?, byte[]?> consumer) =>
        KafkaConsumerSupport.CommitCompleted(consumer, _offsets, static partition => partition, _topic, _logger);

    private void Guard(Action action) => KafkaConsumerSupport.Guard(action, _logger, _topic);
}
