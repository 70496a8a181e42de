using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using TypedRpc.Transport;

namespace TypedRpc.Kafka;

/// <summary>
/// One server instance's membership in a contract's consumer group. Each request is handled
/// concurrently (bounded), and offsets are committed per partition up to the lowest request still
/// being handled — so a request is committed only after its reply was handed to the producer.
/// </summary>
internal sealed class KafkaRequestConsumer : KafkaConsumerLoop, IRpcRequestSubscription
{
    private const int MaxInFlight = 512;
    private readonly KafkaRpcTransport _transport;
    private readonly RpcServiceDescriptor _service;
    private readonly RpcRequestHandler _handler;
    private readonly string _group;
    private readonly SemaphoreSlim _inFlight = new(MaxInFlight, MaxInFlight);
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public KafkaRequestConsumer(KafkaRpcTransport transport, RpcServiceDescriptor service, RpcRequestHandler handler, KafkaTransportOptions options, ILogger logger)
        : base(options, GroupConfig(options, service), options.RequestTopic(service), logger, "TypedRpc requests " + service.ServiceName,
            pollMilliseconds: 100, commitIntervalMilliseconds: 100, joinsGroup: true)
    {
        _transport = transport;
        _service = service;
        _handler = handler;
        _group = GroupOf(options, service);
    }

    /// <summary>The partitions this member holds now.</summary>
    public int AssignedPartitions => Offsets.Count;

    /// <inheritdoc />
    /// <remarks>Set by the group's first rebalance that includes this member, in the assigned-partitions handler.</remarks>
    public Task Assigned => _assigned.Task;

    public void Start()
    {
        Consumer.Subscribe(Topic);
        StartLoop();
        Log.RequestConsumerStarted(Logger, _service.ServiceName, Topic, _group);
    }

    protected override void OnAssigned(List<TopicPartition> partitions)
    {
        base.OnAssigned(partitions);
        if (_assigned.TrySetResult())
        {
            Log.FirstAssignment(Logger, _service.ServiceName, _group, partitions.Count, Topic);
        }
    }

    // Stopped (or failed) before the group assigned this member anything.
    protected override void OnLoopEnded() => _assigned.TrySetCanceled();

    /// <summary>Lets requests already running finish (bounded), so their offsets are committed now rather than redelivered to another member.</summary>
    protected override async Task BeforeCloseAsync()
    {
        var until = Environment.TickCount64 + (long)Options.CloseTimeout.TotalMilliseconds;
        while (_inFlight.CurrentCount < MaxInFlight && Environment.TickCount64 < until)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    protected override void Deliver(ConsumeResult<byte[]?, byte[]?> record)
    {
        var offsets = Offsets.For(record.Partition.Value);
        offsets.Start(record.Offset.Value);
        var request = KafkaHeaders.DecodeRequest(record, Options.MaxMessageBytes, out var reason);
        if (request is null)
        {
            // Without an id or a reply address nobody can be answered: park the record and move on.
            _ = DeadLetterThenCompleteAsync(record, reason!, offsets);
            return;
        }

        // Bound the requests in flight; the loop thread waits here, so the broker keeps the rest.
        _inFlight.Wait(Stopping);
        _ = HandleAsync(request, record, offsets);
    }

    private static string GroupOf(KafkaTransportOptions options, RpcServiceDescriptor service) => options.ServerGroupPrefix + service.ServiceName;

    private static ConsumerConfig GroupConfig(KafkaTransportOptions options, RpcServiceDescriptor service)
    {
        var config = KafkaClientConfig.Consumer(options, GroupOf(options, service));
        config.PartitionAssignmentStrategy ??= options.ServerGroupAssignment ?? KafkaClientConfig.GroupAssignmentStrategy;
        return config;
    }

    private async Task HandleAsync(RpcRequest request, ConsumeResult<byte[]?, byte[]?> record, PartitionOffsets offsets)
    {
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await _handler(request, Stopping).ConfigureAwait(false);
                    offsets.Complete(record.Offset.Value);
                    return;
                }
                catch (Exception ex) when (IsStopping || ex is RpcDeliveryAbandonedException)
                {
                    // Shutting down (this consumer, or the engine before it): leave it uncommitted
                    // so the next member of the group runs it — not a failed attempt.
                    return;
                }
                catch (Exception ex) when (attempt < Options.MaxDeliveryAttempts)
                {
                    Log.DeliveryFailed(Logger, ex, request.Id, attempt, Options.MaxDeliveryAttempts);
                    await Task.Delay(100 * attempt * attempt, Stopping).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.DeliveryFailed(Logger, ex, request.Id, attempt, Options.MaxDeliveryAttempts);
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
}
