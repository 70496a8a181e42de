using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>Records written below the engine: duplicates, strays and garbage on both topics.</summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class KafkaRecordTests : IClassFixture<KafkaPairFixture>, IDisposable
{
    private readonly KafkaPairFixture _pair;
    private readonly RawKafka _raw;
    private readonly string _rawReplies;

    public KafkaRecordTests(KafkaPairFixture pair, KafkaFixture kafka)
    {
        _pair = pair;
        _raw = new RawKafka(kafka.BootstrapServers);
        _rawReplies = KafkaFixture.Unique("raw-replies");
        kafka.CreateTopic(_rawReplies, 1);
    }

    private KafkaCluster Cluster => _pair.Cluster;

    private IIntegrationService Service => _pair.Client.GetRequiredService<IIntegrationService>();

    public void Dispose() => _raw.Dispose();

    [Fact]
    public async Task TheSameRequestRecordProducedTwice_RunsOnce_AndTheRedeliveryGetsTheStoredReply()
    {
        var id = CorrelationId.NewId();
        var payload = Encoding.UTF8.GetBytes("{\"key\":\"dup-1\"}");
        await _raw.ProduceAsync(Cluster.RequestTopic, null, payload, RawKafka.RequestHeaders(id, "integration/SideEffect", _rawReplies, 0));
        Assert.Single(_raw.Read(_rawReplies, 0, max: 1, TimeSpan.FromSeconds(15)));

        // The same record again, after it completed: answered from the claim, not run.
        await _raw.ProduceAsync(Cluster.RequestTopic, null, payload, RawKafka.RequestHeaders(id, "integration/SideEffect", _rawReplies, 0));
        var replies = _raw.Read(_rawReplies, 0, max: 2, TimeSpan.FromSeconds(15));

        Assert.Equal(2, replies.Count);
        Assert.All(replies, r => Assert.Equal("1", Encoding.UTF8.GetString(r.Message.Value!)));
        Assert.Equal(1, Cluster.State.SideEffects["dup-1"]);

        // Twice at once: one runs, the other sees it running and is dropped; still one execution.
        var id2 = CorrelationId.NewId();
        var payload2 = Encoding.UTF8.GetBytes("{\"key\":\"dup-2\"}");
        await Task.WhenAll(
            _raw.ProduceAsync(Cluster.RequestTopic, null, payload2, RawKafka.RequestHeaders(id2, "integration/SideEffect", _rawReplies, 0)),
            _raw.ProduceAsync(Cluster.RequestTopic, null, payload2, RawKafka.RequestHeaders(id2, "integration/SideEffect", _rawReplies, 0)));
        Assert.NotNull(_raw.Find(_rawReplies, 1, r => CorrelationId.FromBytes(r.Message.Headers.GetLastBytes("trpc-id")) == id2, TimeSpan.FromSeconds(15)));
        Assert.Equal(1, Cluster.State.SideEffects["dup-2"]);
    }

    [Fact]
    public async Task MalformedRequestRecords_AreAnsweredOrDeadLettered_AndTheConsumerKeepsGoing()
    {
        var answerable = CorrelationId.NewId();
        var headers = RawKafka.RequestHeaders(answerable, "integration/Add", _rawReplies, 0);
        headers.Remove("trpc-deadline");
        headers.Add("trpc-deadline", new byte[] { 1, 2 });
        await _raw.ProduceAsync(Cluster.RequestTopic, null, Encoding.UTF8.GetBytes("{\"a\":1,\"b\":2}"), headers);

        var unknownMethod = CorrelationId.NewId();
        await _raw.ProduceAsync(Cluster.RequestTopic, null, Encoding.UTF8.GetBytes("{}"), RawKafka.RequestHeaders(unknownMethod, "integration/Nope", _rawReplies, 0));

        var badArguments = CorrelationId.NewId();
        await _raw.ProduceAsync(Cluster.RequestTopic, null, new byte[] { 0xff, 0xfe, 0x00 }, RawKafka.RequestHeaders(badArguments, "integration/Add", _rawReplies, 0));

        // No id, no reply address: nobody to answer — dead-lettered with the reason.
        await _raw.ProduceAsync(Cluster.RequestTopic, null, new byte[] { 1, 2, 3 }, new Headers());
        await _raw.ProduceAsync(Cluster.RequestTopic, null, null, new Headers { { "trpc-id", new byte[] { 1 } } });

        var replies = _raw.Read(_rawReplies, 0, max: 3, TimeSpan.FromSeconds(15))
            .Where(r => r.Message.Headers.TryGetLastBytes("trpc-id", out _))
            .ToDictionary(r => CorrelationId.FromBytes(r.Message.Headers.GetLastBytes("trpc-id")), RawKafka.Status);
        Assert.Equal(RpcStatusCode.InvalidArgument, replies[answerable]);
        Assert.Equal(RpcStatusCode.NotFound, replies[unknownMethod]);
        Assert.Equal(RpcStatusCode.InvalidArgument, replies[badArguments]);

        var deadLetters = _raw.Read(Cluster.DeadLetterTopic, 0, max: 2, TimeSpan.FromSeconds(15));
        Assert.Equal(2, deadLetters.Count);
        Assert.All(deadLetters, d => Assert.Contains("trpc-", RawKafka.Header(d, "trpc-dead-letter-reason"), StringComparison.Ordinal));

        // The partition is not stalled.
        Assert.Equal(9, await Service.AddAsync(4, 5));
    }

    [Fact]
    public async Task AStrayReply_GoesToTheStoreAndTheUnmatchedHandler()
    {
        var handler = new UnmatchedRecorder();
        var client = await Cluster.StartAsync(client: true, server: false, unmatched: handler);
        var address = client.GetRequiredService<RpcClient>().ReplyAddress;
        var id = CorrelationId.NewId();

        await _raw.ProduceAsync(address.Destination, id.ToByteArray(), Encoding.UTF8.GetBytes("\"stray\""), ReplyHeaders(id), address.Partition);

        await WaitUntil(() => handler.Replies.Any(r => r.Id == id));
        var stored = await client.GetRequiredService<IRpcResults>().GetAsync<string>(id.ToString());
        Assert.Equal("stray", stored.Value);
    }

    [Fact]
    public async Task GarbageOnTheReplyTopic_IsSkipped_AndABadReplyForAWaitingCallIsDataLossAtOnce()
    {
        var client = _pair.Client.GetRequiredService<RpcClient>();
        var address = client.ReplyAddress;
        await _raw.ProduceAsync(address.Destination, null, new byte[] { 9, 9, 9 }, new Headers(), address.Partition);

        // A call the server answers only after 2.9 s: read its id
        // off the request topic, and answer it first with a reply record whose headers are broken.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var call = Service.DelayAsync(2_987);
        var id = FindRequestId("\"delayMs\":2987");
        var broken = ReplyHeaders(id);
        broken.Remove("trpc-seq");
        await _raw.ProduceAsync(address.Destination, id.ToByteArray(), Encoding.UTF8.GetBytes("\"x\""), broken, address.Partition);

        var ex = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(RpcStatusCode.DataLoss, ex.StatusCode);
        Assert.True(watch.ElapsedMilliseconds < 2_900, "DataLoss must not wait for the server or the deadline.");
        Assert.Equal(9, await Service.AddAsync(4, 5));
    }

    private CorrelationId FindRequestId(string payloadFragment)
    {
        var record = _raw.Find(Cluster.RequestTopic, 4,
            r => r.Message.Value is { } value && Encoding.UTF8.GetString(value).Contains(payloadFragment, StringComparison.Ordinal),
            TimeSpan.FromSeconds(10)) ?? throw new TimeoutException("The request record did not appear.");
        return CorrelationId.FromBytes(record.Message.Headers.GetLastBytes("trpc-id"));
    }

    private static Headers ReplyHeaders(CorrelationId id) => new()
    {
        { "trpc-v", new byte[] { 1 } },
        { "trpc-id", id.ToByteArray() },
        { "trpc-status", new byte[] { 0 } },
        { "trpc-seq", new byte[] { 0, 0, 0, 0 } },
        { "trpc-end", new byte[] { 1 } },
    };

    private static async Task WaitUntil(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "Timed out waiting.");
            await Task.Delay(20);
        }
    }
}
