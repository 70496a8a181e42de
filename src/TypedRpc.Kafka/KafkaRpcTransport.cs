using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TypedRpc.Transport;

namespace TypedRpc.Kafka;

/// <summary>
/// The Kafka transport: one idempotent producer (linger 0, acks all) for requests and replies; a
/// consumer-group member per served contract; a leased reply partition per caller instance.
/// </summary>
public sealed partial class KafkaRpcTransport : IRpcTransport, IAsyncDisposable
{
    private readonly KafkaTransportOptions _options;
    private readonly IReplyPartitionLeaseStore? _leases;
    private readonly ILogger _logger;
    private readonly Lazy<IProducer<byte[]?, byte[]?>> _producer;
    private readonly HashSet<string> _ensuredTopics = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _topicLock = new(1, 1);
    private readonly List<IAsyncDisposable> _subscriptions = new();
    private int _disposed;

    /// <summary>Creates the transport.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="leases">Where reply partitions are leased (<see cref="ReplyRouting.LeasedPartitions"/>), or <see langword="null"/> (instances then share partitions by hash).</param>
    /// <param name="logger">The logger, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">A setting is invalid (the message names it).</exception>
    /// <exception cref="DllNotFoundException">librdkafka could not be loaded (see <see cref="KafkaNativeLibrary"/>).</exception>
    public KafkaRpcTransport(KafkaTransportOptions options, IReplyPartitionLeaseStore? leases = null, ILogger<KafkaRpcTransport>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = KafkaTransportOptionsValidator.Problems(options);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _options = options;
        _leases = leases;
        _logger = (ILogger?)logger ?? NullLogger.Instance;

        // Before any client is built: which librdkafka Confluent.Kafka binds to is decided on its first use.
        KafkaNativeLibrary.Load();
        var passedOver = KafkaNativeLibrary.PassedOver;
        Log.NativeLibrary(_logger, KafkaNativeLibrary.Version, (KafkaNativeLibrary.LoadedFrom ?? "the runtime's default search")
            + (passedOver is null ? string.Empty : " (passed over: " + passedOver + ")"));

        _producer = new Lazy<IProducer<byte[]?, byte[]?>>(() => new ProducerBuilder<byte[]?, byte[]?>(KafkaClientConfig.Producer(_options))
            .SetErrorHandler((_, error) => Log.ConsumeError(_logger, "(producer)", error.Reason))
            .SetLogHandler((_, message) => Log.Librdkafka(_logger, message.Name, message.Facility, message.Message))
            .Build());
    }

    /// <summary>The settings in use.</summary>
    public KafkaTransportOptions Options => _options;

    /// <inheritdoc />
    public async ValueTask SendRequestAsync(RpcServiceDescriptor service, RpcRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(request);
        var topic = _options.RequestTopic(service);
        var message = KafkaHeaders.EncodeRequest(request);
        CheckSize(message, "request", request.Id);
        EnsureMetadata(topic);
        await _producer.Value.ProduceAsync(topic, message, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (address.IsEmpty)
        {
            throw new ArgumentException("The reply address is empty.", nameof(address));
        }

        var message = KafkaHeaders.EncodeReply(reply);
        CheckSize(message, "reply", reply.Id);
        EnsureMetadata(address.Destination);
        if (address.Partition >= 0)
        {
            await _producer.Value.ProduceAsync(new TopicPartition(address.Destination, address.Partition), message, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await _producer.Value.ProduceAsync(address.Destination, message, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IAsyncDisposable> SubscribeRequestsAsync(RpcServiceDescriptor service, RpcRequestHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed == 1, this);
        await EnsureTopicAsync(_options.RequestTopic(service), _options.RequestPartitions, cancellationToken).ConfigureAwait(false);
        var consumer = new KafkaRequestConsumer(this, service, handler, _options, _logger);
        consumer.Start();
        lock (_subscriptions)
        {
            _subscriptions.Add(consumer);
        }

        return consumer;
    }

    /// <inheritdoc />
    public async ValueTask<IRpcReplySubscription> SubscribeRepliesAsync(string instanceId, RpcReplyHandler handler, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed == 1, this);
        await EnsureTopicAsync(_options.EffectiveReplyTopic, _options.ReplyPartitions, cancellationToken).ConfigureAwait(false);
        KafkaReplyConsumerBase subscription = _options.ReplyRouting switch
        {
            ReplyRouting.LeasedPartitions => new KafkaReplyConsumer(_options, _leases, instanceId, handler, _logger, DeadLetterAsync),
            ReplyRouting.Broadcast => new KafkaBroadcastReplyConsumer(_options, instanceId, handler, _logger, DeadLetterAsync),
            _ => new KafkaGroupReplyConsumer(_options, instanceId, handler, _logger, DeadLetterAsync),
        };
        try
        {
            await subscription.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // A start that failed (cancelled, store or broker error) leaves no consumer behind.
            await subscription.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        lock (_subscriptions)
        {
            _subscriptions.Add(subscription);
        }

        return subscription;
    }

    /// <summary>Stops every consumer (bounded) and flushes the producer.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        IAsyncDisposable[] subscriptions;
        lock (_subscriptions)
        {
            subscriptions = _subscriptions.ToArray();
            _subscriptions.Clear();
        }

        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }

        if (_producer.IsValueCreated)
        {
            var producer = _producer.Value;
            await Task.Run(() =>
            {
                producer.Flush(_options.CloseTimeout);
                producer.Dispose();
            }).WaitAsync(_options.CloseTimeout + TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
    }

    /// <summary>The request partitions this instance's server consumers hold (for tests and diagnostics).</summary>
    internal int AssignedRequestPartitions
    {
        get
        {
            var count = 0;
            lock (_subscriptions)
            {
                foreach (var subscription in _subscriptions)
                {
                    if (subscription is KafkaRequestConsumer consumer)
                    {
                        count += consumer.AssignedPartitions;
                    }
                }
            }

            return count;
        }
    }

    /// <summary>
    /// Test seam: stops every consumer the way a killed process would — no commit, no lease
    /// release, no Close — so tests can prove that nothing is lost when an instance dies.
    /// </summary>
    internal async Task SimulateCrashAsync()
    {
        IAsyncDisposable[] subscriptions;
        lock (_subscriptions)
        {
            subscriptions = _subscriptions.ToArray();
            _subscriptions.Clear();
        }

        foreach (var subscription in subscriptions)
        {
            if (subscription is KafkaConsumerLoop consumer)
            {
                await consumer.AbandonAsync().ConfigureAwait(false);
            }
        }

        Interlocked.Exchange(ref _disposed, 1);
    }

    /// <summary>Copies a record that cannot be handled to the dead-letter topic (when configured), with the reason.</summary>
    internal async Task DeadLetterAsync(ConsumeResult<byte[]?, byte[]?> record, string reason)
    {
        Log.DeadLettered(_logger, record.Topic, record.Partition.Value, record.Offset.Value, reason);
        if (_options.DeadLetterTopic is null)
        {
            return;
        }

        try
        {
            var headers = new Headers();
            foreach (var header in record.Message.Headers ?? new Headers())
            {
                headers.Add(header.Key, header.GetValueBytes());
            }

            // A record over the size limit would be refused again here: keep its headers and key, and
            // say in the reason that its value was left out.
            var value = record.Message.Value;
            if (KafkaHeaders.Size(record.Message) > _options.MaxMessageBytes)
            {
                reason += $" (its {value?.Length ?? 0}-byte value is not copied)";
                value = null;
            }

            headers.Add(KafkaHeaders.DeadLetterReason, System.Text.Encoding.UTF8.GetBytes(reason));
            await _producer.Value.ProduceAsync(_options.DeadLetterTopic, new Message<byte[]?, byte[]?> { Key = record.Message.Key, Value = value, Headers = headers }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KafkaException or ObjectDisposedException)
        {
            Log.ConsumeError(_logger, _options.DeadLetterTopic, "dead-lettering failed: " + ex.Message);
        }
    }

    private void CheckSize(Message<byte[]?, byte[]?> message, string what, CorrelationId id)
    {
        var size = KafkaHeaders.Size(message);
        if (size > _options.MaxMessageBytes)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.ResourceExhausted,
                $"The {what} is {size} bytes; the limit is {_options.MaxMessageBytes} (TypedRpc:Kafka:MaxMessageBytes)."), id.ToString());
        }
    }

    private async Task EnsureTopicAsync(string topic, int partitions, CancellationToken cancellationToken)
    {
        if (!_options.CreateTopics)
        {
            return;
        }

        await _topicLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_ensuredTopics.Add(topic))
            {
                return;
            }

            var config = new AdminClientConfig { BootstrapServers = _options.BootstrapServers };
            foreach (var (key, value) in _options.Settings)
            {
                config.Set(key, value);
            }

            using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).Build();
            try
            {
                // Most of the time the topic exists: a metadata lookup answers that at once, while a
                // CreateTopics request to a broker that does not support it waits for its timeout.
                var metadata = await Task.Run(() => admin.GetMetadata(topic, TimeSpan.FromSeconds(5)), cancellationToken).ConfigureAwait(false);
                foreach (var existing in metadata.Topics)
                {
                    if (existing.Topic == topic && existing.Error.Code == ErrorCode.NoError && existing.Partitions.Count > 0)
                    {
                        return;
                    }
                }

                await admin.CreateTopicsAsync(new[] { new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = -1 } },
                    new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(10), OperationTimeout = TimeSpan.FromSeconds(10) }).ConfigureAwait(false);
            }
            catch (CreateTopicsException ex)
            {
                // Already there (the usual case), or a broker that does not support creation (the mock).
                Log.TopicCreateFailed(_logger, topic, ex.Results.Count > 0 ? ex.Results[0].Error.Reason : ex.Message);
            }
            catch (KafkaException ex)
            {
                Log.TopicCreateFailed(_logger, topic, ex.Error.Reason);
            }
        }
        finally
        {
            _topicLock.Release();
        }
    }
}
