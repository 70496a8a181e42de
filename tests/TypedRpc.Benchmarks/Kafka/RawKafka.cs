using System;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using TypedRpc.Benchmarks.Contract;

namespace TypedRpc.Benchmarks.Kafka;

/// <summary>
/// The raw contender: plain Confluent.Kafka request/reply with nothing on top — a record with a
/// correlation id and a reply partition in its headers, answered by a consumer that produces the
/// reply straight back. Same broker, same client settings as the TypedRpc transport.
/// </summary>
internal static class RawKafkaConfig
{
    /// <summary>The producer settings TypedRpc's transport uses (KafkaClientConfig.Producer).</summary>
    public static ProducerConfig Producer(string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        LingerMs = 0,
        EnableIdempotence = true,
        Acks = Acks.All,
        MessageTimeoutMs = 10_000,
        MessageMaxBytes = 1_064_576,
        SocketNagleDisable = true,
        ReconnectBackoffMaxMs = 1_000,
    };

    /// <summary>The consumer settings TypedRpc's transport uses (KafkaClientConfig.Consumer, with the benchmarks' 1 ms fetch wait).</summary>
    public static ConsumerConfig Consumer(string bootstrap, string groupId) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = groupId,
        EnableAutoCommit = false,
        EnableAutoOffsetStore = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        FetchWaitMaxMs = 1,
        SocketNagleDisable = true,
        ReconnectBackoffMaxMs = 1_000,
        EnablePartitionEof = false,
    };

    public const string IdHeader = "id";
    public const string ReplyPartitionHeader = "rp";

    /// <summary>The request's JSON, serialized once: raw Kafka moves bytes, it does not serialize.</summary>
    public static readonly byte[] RequestBytes = JsonSerializer.SerializeToUtf8Bytes(BenchService.Sample);

    public static readonly byte[] ReplyBytes = JsonSerializer.SerializeToUtf8Bytes(new QuoteReply("ACME", 10, 101m));
}

/// <summary>Answers raw requests: reads every partition of the request topic and produces each reply to the partition the request names.</summary>
internal sealed class RawServer : IDisposable
{
    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly string _replyTopic;
    private readonly RawClaims? _claims;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _failures;

    /// <param name="claims">When given, each request is claimed in Redis before its reply is produced, and the claim completed after.</param>
    public RawServer(string bootstrap, string requestTopic, int partitions, string replyTopic, RawClaims? claims = null)
    {
        _replyTopic = replyTopic;
        _claims = claims;
        _producer = new ProducerBuilder<byte[]?, byte[]?>(RawKafkaConfig.Producer(bootstrap)).SetLogHandler((_, _) => { }).Build();
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(RawKafkaConfig.Consumer(bootstrap, "raw-server-" + requestTopic)).SetLogHandler((_, _) => { }).Build();
        var assignment = new TopicPartitionOffset[partitions];
        for (var p = 0; p < partitions; p++)
        {
            assignment[p] = new TopicPartitionOffset(requestTopic, p, Offset.Beginning);
        }

        _consumer.Assign(assignment);
        _thread = new Thread(Run) { IsBackground = true, Name = "raw server" };
        _thread.Start();
    }

    public long Failures => Interlocked.Read(ref _failures);

    private void Run()
    {
        Action<DeliveryReport<byte[]?, byte[]?>> onDelivered = report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref _failures);
            }
        };
        while (!_stop)
        {
            ConsumeResult<byte[]?, byte[]?>? record;
            try
            {
                record = _consumer.Consume(50);
            }
            catch (ConsumeException)
            {
                continue;
            }

            if (record?.Message is null)
            {
                continue;
            }

            var headers = record.Message.Headers;
            if (_claims is not null && !_claims.TryClaim(headers.GetLastBytes(RawKafkaConfig.IdHeader)))
            {
                continue;
            }

            var partition = BinaryPrimitives.ReadInt32BigEndian(headers.GetLastBytes(RawKafkaConfig.ReplyPartitionHeader));
            var reply = new Message<byte[]?, byte[]?>
            {
                Key = record.Message.Key,
                Value = RawKafkaConfig.ReplyBytes,
                Headers = new Headers { { RawKafkaConfig.IdHeader, headers.GetLastBytes(RawKafkaConfig.IdHeader) } },
            };
            _producer.Produce(new TopicPartition(_replyTopic, partition), reply, onDelivered);
            _claims?.Complete(headers.GetLastBytes(RawKafkaConfig.IdHeader));
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        _producer.Flush(TimeSpan.FromSeconds(3));
        _producer.Dispose();
        // Close() can block for long when the broker is gone; an Assign-only consumer has nothing to leave.
        _consumer.Dispose();
    }
}

/// <summary>
/// The least a server can do in Redis for each request to run once: claim it (SET NX with a time
/// to live) before running, and mark it completed with its reply while the reply goes out —
/// straight StackExchange.Redis commands, no scripts, no engine.
/// </summary>
internal sealed class RawClaims(StackExchange.Redis.IDatabase database)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);

    public bool TryClaim(byte[] id) =>
        database.StringSet(Key(id), "running", Ttl, StackExchange.Redis.When.NotExists);

    public void Complete(byte[] id) =>
        database.StringSet(Key(id), RawKafkaConfig.ReplyBytes, Ttl, StackExchange.Redis.When.Exists, StackExchange.Redis.CommandFlags.FireAndForget);

    private static StackExchange.Redis.RedisKey Key(byte[] id) => "raw-claim:" + Convert.ToHexString(id);
}

/// <summary>
/// Sends raw requests and waits for their replies on one partition of the reply topic. Sequential
/// mode is the literal ping-pong (the caller's thread produces, then consumes its reply);
/// concurrent mode has a reader thread completing waiters by correlation id.
/// </summary>
internal sealed class RawClient : IDisposable
{
    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly string _requestTopic;
    private readonly byte[] _replyPartition = new byte[4];
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _waiting = new();
    private readonly Thread? _reader;
    private readonly Action<DeliveryReport<byte[]?, byte[]?>> _onDelivered;
    private volatile bool _stop;
    private long _failures;

    public RawClient(string bootstrap, string requestTopic, string replyTopic, int replyPartition, bool concurrent)
    {
        _requestTopic = requestTopic;
        BinaryPrimitives.WriteInt32BigEndian(_replyPartition, replyPartition);
        _producer = new ProducerBuilder<byte[]?, byte[]?>(RawKafkaConfig.Producer(bootstrap)).SetLogHandler((_, _) => { }).Build();
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(RawKafkaConfig.Consumer(bootstrap, "raw-client-" + replyTopic)).SetLogHandler((_, _) => { }).Build();
        _consumer.Assign(new TopicPartitionOffset(replyTopic, replyPartition, Offset.Beginning));
        _onDelivered = report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref _failures);
            }
        };
        if (concurrent)
        {
            _reader = new Thread(Read) { IsBackground = true, Name = "raw client" };
            _reader.Start();
        }
    }

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>One sequential round trip on the calling thread: produce, then consume until the reply arrives.</summary>
    public void PingPong(TimeSpan timeout)
    {
        var id = Guid.NewGuid();
        Send(id);
        var until = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Environment.TickCount64 < until)
        {
            var record = _consumer.Consume(50);
            if (record?.Message is not null && new Guid(record.Message.Headers.GetLastBytes(RawKafkaConfig.IdHeader)) == id)
            {
                return;
            }
        }

        throw new TimeoutException("The raw reply did not arrive.");
    }

    /// <summary>One call in concurrent mode.</summary>
    public Task CallAsync()
    {
        var id = Guid.NewGuid();
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[id] = waiter;
        Send(id);
        return waiter.Task;
    }

    private void Send(Guid id)
    {
        var message = new Message<byte[]?, byte[]?>
        {
            Key = id.ToByteArray(),
            Value = RawKafkaConfig.RequestBytes,
            Headers = new Headers { { RawKafkaConfig.IdHeader, id.ToByteArray() }, { RawKafkaConfig.ReplyPartitionHeader, _replyPartition } },
        };
        _producer.Produce(_requestTopic, message, _onDelivered);
    }

    private void Read()
    {
        while (!_stop)
        {
            ConsumeResult<byte[]?, byte[]?>? record;
            try
            {
                record = _consumer.Consume(50);
            }
            catch (ConsumeException)
            {
                continue;
            }

            if (record?.Message is not null && _waiting.TryRemove(new Guid(record.Message.Headers.GetLastBytes(RawKafkaConfig.IdHeader)), out var waiter))
            {
                waiter.TrySetResult();
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        _reader?.Join();
        _producer.Flush(TimeSpan.FromSeconds(3));
        _producer.Dispose();
        _consumer.Dispose();
    }
}
