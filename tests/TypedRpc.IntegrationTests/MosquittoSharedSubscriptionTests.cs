using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using TypedRpc.DevServices;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// What mosquitto does with a shared subscription's messages when a member with a persistent session
/// (clean start off, a session expiry) dies: the behaviour the MQTT transport is designed around, pinned
/// so that a broker that behaves otherwise fails here. A member "dies" by disposing its MQTTnet client,
/// which closes the connection without an MQTT DISCONNECT, as a crashed process's would be; its will
/// message tells when the broker has seen it go.
/// </summary>
public sealed class MosquittoSharedSubscriptionTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task ADeadMemberWithASession_StillGetsItsShareOfNewMessages_QueuedUntilItReturns()
    {
        await using var broker = await LocalMosquitto.StartAsync();
        var filter = "$share/servers/svc/requests";
        var a = new Member();
        var b = new Member();
        using var clientB = await ConnectAsync(broker, "b", b, sessionExpiry: 60);
        await clientB.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        var aGone = await WatchWillAsync(clientB, "a");
        var clientA = await ConnectAsync(broker, "a", a, sessionExpiry: 60, willTopic: "wills/a");
        await clientA.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        using var publisher = await ConnectAsync(broker, "publisher", new Member(), sessionExpiry: 0);

        clientA.Dispose();
        await aGone.WaitAsync(Wait);
        await PublishAsync(publisher, "svc/requests", 20);

        // Round robin goes on over both members: half the messages wait in A's session.
        await b.WaitForAsync(10);
        await Task.Delay(200);
        Assert.Equal(10, b.Count);

        using var clientA2 = await ConnectAsync(broker, "a", a, sessionExpiry: 60);
        await a.WaitForAsync(10);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i.ToString(CultureInfo.InvariantCulture)).Order(), a.Texts.Concat(b.Texts).Order());
    }

    [Fact]
    public async Task AnUnacknowledgedMessage_OfAMemberThatDies_GoesBackToThatMemberAsADuplicate_NotToAnother()
    {
        await using var broker = await LocalMosquitto.StartAsync();
        var filter = "$share/servers/svc/requests";
        var a = new Member { Acknowledge = false };
        var b = new Member();
        using var clientB = await ConnectAsync(broker, "b", b, sessionExpiry: 60);
        var aGone = await WatchWillAsync(clientB, "a");
        var clientA = await ConnectAsync(broker, "a", a, sessionExpiry: 60, willTopic: "wills/a");
        await clientA.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        using var publisher = await ConnectAsync(broker, "publisher", new Member(), sessionExpiry: 0);
        await PublishAsync(publisher, "svc/requests", 1);
        await a.WaitForAsync(1);
        Assert.False(Assert.Single(a.Received).Dup);

        // B joins after A holds the message: it is never offered to B.
        await clientB.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        clientA.Dispose();
        await aGone.WaitAsync(Wait);
        await Task.Delay(300);
        Assert.Equal(0, b.Count);

        var again = new Member();
        using var clientA2 = await ConnectAsync(broker, "a", again, sessionExpiry: 60);
        await again.WaitForAsync(1);
        var redelivered = Assert.Single(again.Received);
        Assert.Equal("0", redelivered.Text);
        Assert.True(redelivered.Dup);
        Assert.Equal(0, b.Count);
    }

    [Fact]
    public async Task WhenADeadMembersSessionExpires_ItsUnacknowledgedAndQueuedMessagesAreLost()
    {
        await using var broker = await LocalMosquitto.StartAsync();
        var filter = "$share/servers/svc/requests";
        var a = new Member { Acknowledge = false };
        var b = new Member();
        using var clientB = await ConnectAsync(broker, "b", b, sessionExpiry: 60);
        var aGone = await WatchWillAsync(clientB, "a");
        var clientA = await ConnectAsync(broker, "a", a, sessionExpiry: 1, willTopic: "wills/a");
        await clientA.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        using var publisher = await ConnectAsync(broker, "publisher", new Member(), sessionExpiry: 0);
        await PublishAsync(publisher, "svc/requests", 1);
        await a.WaitForAsync(1);
        await clientB.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);

        clientA.Dispose();
        await aGone.WaitAsync(Wait);
        await PublishAsync(publisher, "svc/requests", 10, first: 1);
        await b.WaitForAsync(5);

        // mosquitto expires sessions on a timer of its own; 2.5 s is well past A's 1 s.
        await Task.Delay(2500);
        var fresh = new Member();
        using var clientA2 = await ConnectAsync(broker, "a", fresh, sessionExpiry: 60);
        await Task.Delay(300);
        Assert.Equal(0, fresh.Count);
        Assert.Equal(5, b.Count);
        Assert.DoesNotContain("0", b.Texts);
    }

    private sealed class Member
    {
        private readonly ConcurrentQueue<(string Text, bool Dup)> _received = new();

        public bool Acknowledge { get; init; } = true;

        public int Count => _received.Count;

        public (string Text, bool Dup)[] Received => _received.ToArray();

        public string[] Texts => _received.Select(r => r.Text).ToArray();

        public Task OnMessage(MqttApplicationMessageReceivedEventArgs e)
        {
            if (e.ApplicationMessage.Topic.StartsWith("wills/", StringComparison.Ordinal))
            {
                return Task.CompletedTask;
            }

            e.AutoAcknowledge = Acknowledge;
            _received.Enqueue((Encoding.UTF8.GetString(e.ApplicationMessage.Payload), e.ApplicationMessage.Dup));
            return Task.CompletedTask;
        }

        public async Task WaitForAsync(int count)
        {
            var until = DateTime.UtcNow + Wait;
            while (_received.Count < count)
            {
                Assert.True(DateTime.UtcNow < until, $"received {_received.Count} of {count}");
                await Task.Delay(10);
            }
        }
    }

    private static async Task<IMqttClient> ConnectAsync(LocalMosquitto broker, string clientId, Member member, uint sessionExpiry, string? willTopic = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += member.OnMessage;
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(clientId)
            .WithCleanStart(sessionExpiry == 0)
            .WithSessionExpiryInterval(sessionExpiry)
            .WithTimeout(Wait);
        if (willTopic is not null)
        {
            options = options.WithWillTopic(willTopic).WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        }

        try
        {
            await client.ConnectAsync(options.Build());
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Completes when the broker publishes <paramref name="clientId"/>'s will, that is when it has seen the connection close.</summary>
    private static async Task<Task> WatchWillAsync(IMqttClient watcher, string clientId)
    {
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var topic = $"wills/{clientId}";
        watcher.ApplicationMessageReceivedAsync += e =>
        {
            if (e.ApplicationMessage.Topic == topic)
            {
                gone.TrySetResult();
            }

            return Task.CompletedTask;
        };
        await watcher.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        return gone.Task;
    }

    private static async Task PublishAsync(IMqttClient publisher, string topic, int count, int first = 0)
    {
        for (var i = first; i < first + count; i++)
        {
            var result = await publisher.PublishStringAsync(topic, i.ToString(CultureInfo.InvariantCulture), MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.True(result.IsSuccess, result.ReasonCode.ToString());
        }
    }
}
