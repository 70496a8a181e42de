using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;

namespace TypedRpc.IntegrationTests;

/// <summary>A raw Kafka client for the tests: writes records the transport never would, and reads a topic directly.</summary>
public sealed class RawKafka : IDisposable
{
    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly string _bootstrap;

    public RawKafka(string bootstrap)
    {
        _bootstrap = bootstrap;
        _producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 0 }).SetLogHandler((_, _) => { }).Build();
    }

    public Task ProduceAsync(string topic, byte[]? key, byte[]? value, Headers headers, int partition = -1) =>
        partition >= 0
            ? _producer.ProduceAsync(new TopicPartition(topic, partition), new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers })
            : _producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers });

    /// <summary>Reads up to <paramref name="max"/> records of one partition from the beginning, for at most <paramref name="timeout"/>.</summary>
    public List<ConsumeResult<byte[]?, byte[]?>> Read(string topic, int partition, int max, TimeSpan timeout)
    {
        using var consumer = Reader(topic, [partition]);
        var records = new List<ConsumeResult<byte[]?, byte[]?>>();
        var until = DateTime.UtcNow + timeout;
        while (records.Count < max && DateTime.UtcNow < until)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (record?.Message is not null)
            {
                records.Add(record);
            }
        }

        consumer.Close();
        return records;
    }

    /// <summary>Reads every partition of a topic from the beginning until <paramref name="match"/> accepts a record.</summary>
    public ConsumeResult<byte[]?, byte[]?>? Find(string topic, int partitions, Func<ConsumeResult<byte[]?, byte[]?>, bool> match, TimeSpan timeout)
    {
        using var consumer = Reader(topic, Enumerable.Range(0, partitions));
        var until = DateTime.UtcNow + timeout;
        try
        {
            while (DateTime.UtcNow < until)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (record?.Message is not null && match(record))
                {
                    return record;
                }
            }

            return null;
        }
        finally
        {
            consumer.Close();
        }
    }

    /// <summary>Reads every record of a topic from the beginning on a thread of its own until <paramref name="stop"/>, handing each to <paramref name="onRecord"/>.</summary>
    public Task Follow(string topic, int partitions, CancellationToken stop, Action<ConsumeResult<byte[]?, byte[]?>> onRecord) =>
        Task.Factory.StartNew(() =>
        {
            using var consumer = Reader(topic, Enumerable.Range(0, partitions));
            while (!stop.IsCancellationRequested)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } record)
                {
                    onRecord(record);
                }
            }

            consumer.Close();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>The first offset still held of each partition of a topic (above 0 once retention trimmed it).</summary>
    public long[] LowWatermarks(string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = _bootstrap, GroupId = "raw-watermarks" })
            .SetLogHandler((_, _) => { }).Build();
        return Enumerable.Range(0, partitions)
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).Low.Value)
            .ToArray();
    }

    /// <summary>A consumer outside any group (nothing committed) assigned to the partitions from their beginning.</summary>
    private IConsumer<byte[]?, byte[]?> Reader(string topic, IEnumerable<int> partitions)
    {
        var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = _bootstrap,
            GroupId = "raw-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            FetchWaitMaxMs = 1,
        }).SetLogHandler((_, _) => { }).Build();
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        return consumer;
    }

    /// <summary>The headers of a valid request, for the tests to break one at a time.</summary>
    public static Headers RequestHeaders(CorrelationId id, string method, string replyTopic, int replyPartition, long? deadlineUnixMs = null)
    {
        var reply = new byte[4 + Encoding.UTF8.GetByteCount(replyTopic)];
        BinaryPrimitives.WriteInt32BigEndian(reply, replyPartition);
        Encoding.UTF8.GetBytes(replyTopic, reply.AsSpan(4));
        var deadline = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(deadline, deadlineUnixMs ?? DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds());
        return new Headers
        {
            { "trpc-v", new byte[] { 1 } },
            { "trpc-id", id.ToByteArray() },
            { "trpc-method", Encoding.UTF8.GetBytes(method) },
            { "trpc-reply", reply },
            { "trpc-owner", Encoding.UTF8.GetBytes("raw") },
            { "trpc-deadline", deadline },
        };
    }

    public static string Header(ConsumeResult<byte[]?, byte[]?> record, string name) =>
        record.Message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : "";

    public static RpcStatusCode Status(ConsumeResult<byte[]?, byte[]?> record) =>
        record.Message.Headers.TryGetLastBytes("trpc-status", out var bytes) ? (RpcStatusCode)bytes[0] : (RpcStatusCode)(-1);

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}
