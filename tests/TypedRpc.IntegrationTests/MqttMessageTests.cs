using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>Messages published below the engine over MQTT: duplicates, strays and garbage on request and reply topics.</summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class MqttMessageTests : IClassFixture<MqttPairFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly MqttPairFixture _pair;
    private readonly string _rawReplies;
    private readonly ConcurrentQueue<MqttApplicationMessage> _received = new();
    private IMqttClient _probe = null!;

    public MqttMessageTests(MqttPairFixture pair)
    {
        _pair = pair;
        _rawReplies = MosquittoFixture.Unique("raw-replies");
    }

    private MqttCluster Cluster => _pair.Cluster;

    private IIntegrationService Service => _pair.Client.GetRequiredService<IIntegrationService>();

    public async Task InitializeAsync()
    {
        // A plain MQTTnet client reading the raw reply topic and the dead-letter topic.
        var server = Cluster.Server;
        _probe = new MqttClientFactory().CreateMqttClient();
        _probe.ApplicationMessageReceivedAsync += e =>
        {
            _received.Enqueue(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        await _probe.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(server[..server.LastIndexOf(':')], int.Parse(server[(server.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture))
            .WithProtocolVersion(MqttProtocolVersion.V500).WithClientId(MosquittoFixture.Unique("probe")).Build());
        await _probe.SubscribeAsync(_rawReplies, MqttQualityOfServiceLevel.AtLeastOnce);
        await _probe.SubscribeAsync(Cluster.DeadLetterTopic, MqttQualityOfServiceLevel.AtLeastOnce);
        // Beside the servers' shared subscription, a copy of every request of the contract.
        await _probe.SubscribeAsync(Cluster.RequestTopic.Replace("{service}", "integration", StringComparison.Ordinal).Replace("{method}", "+", StringComparison.Ordinal), MqttQualityOfServiceLevel.AtLeastOnce);
    }

    public async Task DisposeAsync()
    {
        await _probe.DisconnectAsync();
        _probe.Dispose();
    }

    [Fact]
    public async Task TheSameRequestPublishedTwice_RunsOnce_AndTheRedeliveryGetsTheStoredReply()
    {
        var id = CorrelationId.NewId();
        var payload = Encoding.UTF8.GetBytes("{\"key\":\"mq-dup-1\"}");
        await Cluster.PublishRawAsync(Request(id, "integration/SideEffect", payload));
        await RepliesAsync(id, 1);

        await Cluster.PublishRawAsync(Request(id, "integration/SideEffect", payload));
        var replies = await RepliesAsync(id, 2);

        Assert.All(replies, r => Assert.Equal("1", Encoding.UTF8.GetString(r.Payload.ToArray())));
        Assert.Equal(1, Cluster.State.SideEffects["mq-dup-1"]);
    }

    [Fact]
    public async Task MalformedRequests_AreAnsweredOrDeadLettered_AndTheServerKeepsGoing()
    {
        var answerable = CorrelationId.NewId();
        var badDeadline = Request(answerable, "integration/Add", Encoding.UTF8.GetBytes("{\"a\":1,\"b\":2}"));
        badDeadline.UserProperties.RemoveAll(p => p.Name == "trpc-deadline");
        badDeadline.UserProperties.Add(new MqttUserProperty("trpc-deadline", "soon"u8.ToArray()));
        await Cluster.PublishRawAsync(badDeadline);

        var unknownMethod = CorrelationId.NewId();
        await Cluster.PublishRawAsync(Request(unknownMethod, "integration/Nope", "{}"u8.ToArray()));

        var badArguments = CorrelationId.NewId();
        await Cluster.PublishRawAsync(Request(badArguments, "integration/Add", [0xff, 0xfe, 0x00]));

        var oldVersion = CorrelationId.NewId();
        var versioned = Request(oldVersion, "integration/Add", "{}"u8.ToArray());
        versioned.UserProperties[0] = new MqttUserProperty("trpc-v", "0"u8.ToArray());
        await Cluster.PublishRawAsync(versioned);

        var oversized = CorrelationId.NewId();
        await Cluster.PublishRawAsync(Request(oversized, "integration/Echo", new byte[1_100_000]));

        // No correlation data, or no response topic: nobody to answer — dead-lettered with the reason.
        var noId = Request(CorrelationId.NewId(), "integration/Add", [1, 2, 3]);
        noId.CorrelationData = null;
        await Cluster.PublishRawAsync(noId);
        var noReplyTopic = Request(CorrelationId.NewId(), "integration/Add", [4, 5]);
        noReplyTopic.ResponseTopic = null;
        await Cluster.PublishRawAsync(noReplyTopic);

        Assert.Equal(RpcStatusCode.InvalidArgument, Status(Assert.Single(await RepliesAsync(answerable, 1))));
        Assert.Equal(RpcStatusCode.NotFound, Status(Assert.Single(await RepliesAsync(unknownMethod, 1))));
        Assert.Equal(RpcStatusCode.InvalidArgument, Status(Assert.Single(await RepliesAsync(badArguments, 1))));
        var versionReply = Assert.Single(await RepliesAsync(oldVersion, 1));
        Assert.NotEqual(RpcStatusCode.OK, Status(versionReply));
        Assert.Contains("trpc-v", Property(versionReply, "trpc-detail"), StringComparison.Ordinal);
        var sizeReply = Assert.Single(await RepliesAsync(oversized, 1));
        Assert.NotEqual(RpcStatusCode.OK, Status(sizeReply));
        Assert.Contains("MaxMessageBytes", Property(sizeReply, "trpc-detail"), StringComparison.Ordinal);

        var deadLetters = await WaitForAsync(m => m.Topic == Cluster.DeadLetterTopic, 2);
        Assert.Contains(deadLetters, d => Property(d, "trpc-dead-letter-reason").Contains("CorrelationData", StringComparison.Ordinal));
        Assert.Contains(deadLetters, d => Property(d, "trpc-dead-letter-reason").Contains("ResponseTopic", StringComparison.Ordinal));
        Assert.All(deadLetters, d => Assert.EndsWith("/requests/Add", Property(d, "trpc-dead-letter-topic"), StringComparison.Ordinal));

        // The subscription is not stalled.
        Assert.Equal(9, await Service.AddAsync(4, 5));
    }

    [Fact]
    public async Task AStrayReply_GoesToTheStoreAndTheUnmatchedHandler()
    {
        var handler = new UnmatchedRecorder();
        var client = await Cluster.StartAsync(client: true, server: false, unmatched: handler);
        var address = client.GetRequiredService<RpcClient>().ReplyAddress;
        var id = CorrelationId.NewId();

        await Cluster.PublishRawAsync(Reply(address.Destination, id, "\"stray\""u8.ToArray()));

        await WaitUntil(() => handler.Replies.Any(r => r.Id == id));
        var stored = await client.GetRequiredService<IRpcResults>().GetAsync<string>(id.ToString());
        Assert.Equal("stray", stored.Value);
        await Cluster.StopAsync(client);
    }

    [Fact]
    public async Task GarbageOnTheReplyTopic_IsSkipped_AndABadReplyForAWaitingCallIsDataLossAtOnce()
    {
        var address = _pair.Client.GetRequiredService<RpcClient>().ReplyAddress;
        await Cluster.PublishRawAsync(new MqttApplicationMessage
        {
            Topic = address.Destination,
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            Payload = new ReadOnlySequence<byte>(new byte[] { 9, 9, 9 }),
        });

        // A call the server answers only after 2.9 s, answered first with a reply whose properties are broken.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var call = Service.DelayAsync(2_987);
        var request = Assert.Single(await WaitForAsync(m => m.Topic.EndsWith("/requests/Delay", StringComparison.Ordinal) && Encoding.UTF8.GetString(m.Payload.ToArray()).Contains("\"delayMs\":2987", StringComparison.Ordinal), 1));
        var id = CorrelationId.FromBytes(request.CorrelationData);
        var broken = Reply(address.Destination, id, "\"x\""u8.ToArray());
        broken.UserProperties.RemoveAll(p => p.Name == "trpc-seq");
        await Cluster.PublishRawAsync(broken);

        var ex = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(RpcStatusCode.DataLoss, ex.StatusCode);
        Assert.True(watch.ElapsedMilliseconds < 2_900, "DataLoss must not wait for the server or the deadline.");
        Assert.Equal(9, await Service.AddAsync(4, 5));
    }

    private MqttApplicationMessage Request(CorrelationId id, string method, byte[] payload)
    {
        var slash = method.IndexOf('/', StringComparison.Ordinal);
        return new MqttApplicationMessage
        {
            Topic = Cluster.RequestTopic.Replace("{service}", method[..slash], StringComparison.Ordinal).Replace("{method}", method[(slash + 1)..], StringComparison.Ordinal),
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            ResponseTopic = _rawReplies,
            CorrelationData = id.ToByteArray(),
            Payload = new ReadOnlySequence<byte>(payload),
            UserProperties = new List<MqttUserProperty>
            {
                new("trpc-v", "1"u8.ToArray()),
                new("trpc-method", Encoding.UTF8.GetBytes(method)),
                new("trpc-owner", "raw"u8.ToArray()),
                new("trpc-deadline", Encoding.UTF8.GetBytes(DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture))),
            },
        };
    }

    private static MqttApplicationMessage Reply(string topic, CorrelationId id, byte[] payload) => new()
    {
        Topic = topic,
        QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
        CorrelationData = id.ToByteArray(),
        Payload = new ReadOnlySequence<byte>(payload),
        UserProperties = new List<MqttUserProperty>
        {
            new("trpc-v", "1"u8.ToArray()),
            new("trpc-status", "0"u8.ToArray()),
            new("trpc-seq", "0"u8.ToArray()),
            new("trpc-end", "1"u8.ToArray()),
        },
    };

    private static string Property(MqttApplicationMessage message, string name) =>
        message.UserProperties?.LastOrDefault(p => p.Name == name)?.ReadValueAsString() ?? string.Empty;

    private static RpcStatusCode Status(MqttApplicationMessage message) =>
        (RpcStatusCode)int.Parse(Property(message, "trpc-status"), CultureInfo.InvariantCulture);

    private Task<List<MqttApplicationMessage>> RepliesAsync(CorrelationId id, int count) =>
        WaitForAsync(m => m.Topic == _rawReplies && m.CorrelationData is { Length: 16 } data && CorrelationId.FromBytes(data) == id, count);

    private async Task<List<MqttApplicationMessage>> WaitForAsync(Func<MqttApplicationMessage, bool> match, int count)
    {
        var until = DateTime.UtcNow + Wait;
        while (true)
        {
            var found = _received.Where(match).ToList();
            if (found.Count >= count)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < until, $"{found.Count} of {count} messages arrived.");
            await Task.Delay(20);
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "Timed out waiting.");
            await Task.Delay(20);
        }
    }
}
