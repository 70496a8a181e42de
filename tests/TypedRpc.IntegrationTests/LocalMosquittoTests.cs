using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net;
using System.Net.Sockets;
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
/// <see cref="LocalMosquitto"/> itself, with MQTTnet 5 clients: MQTT 5 at QoS 1, shared subscriptions,
/// a restart on the same port, and clear errors when mosquitto is missing or fails.
/// </summary>
public sealed class LocalMosquittoTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task AnMqtt5Client_PublishesAndReceivesAQoS1Message_WithItsProperties()
    {
        await using var broker = await LocalMosquitto.StartAsync();
        Assert.True(broker.IsRunning);
        Assert.Equal("127.0.0.1", broker.Host);

        using var subscriber = await ConnectAsync(broker, "sub");
        var received = new TaskCompletionSource<MqttApplicationMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            received.TrySetResult(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        await subscriber.SubscribeAsync("t/requests", MqttQualityOfServiceLevel.AtLeastOnce);

        using var publisher = await ConnectAsync(broker, "pub");
        var result = await publisher.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic("t/requests")
            .WithPayload("hello"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithResponseTopic("t/replies/pub")
            .WithCorrelationData([1, 2, 3])
            .WithUserProperty("trpc-method", new ReadOnlyMemory<byte>("Echo"u8.ToArray()))
            .Build());
        Assert.True(result.IsSuccess, result.ReasonCode.ToString());

        var message = await received.Task.WaitAsync(Wait);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, message.QualityOfServiceLevel);
        Assert.Equal("hello", Encoding.UTF8.GetString(message.Payload));
        Assert.Equal("t/replies/pub", message.ResponseTopic);
        Assert.Equal(new byte[] { 1, 2, 3 }, message.CorrelationData);
        var property = Assert.Single(message.UserProperties);
        Assert.Equal("trpc-method", property.Name);
        Assert.Equal("Echo", Encoding.UTF8.GetString(property.ValueBuffer.Span));
    }

    [Fact]
    public async Task ASharedSubscription_GivesEachMessageToExactlyOneMember()
    {
        await using var broker = await LocalMosquitto.StartAsync();
        const int Messages = 40;
        var counts = new int[2];
        var seen = new ConcurrentDictionary<string, int>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var members = new IMqttClient[2];
        for (var i = 0; i < members.Length; i++)
        {
            var member = i;
            members[i] = await ConnectAsync(broker, $"member-{i}");
            members[i].ApplicationMessageReceivedAsync += e =>
            {
                Interlocked.Increment(ref counts[member]);
                seen.AddOrUpdate(Encoding.UTF8.GetString(e.ApplicationMessage.Payload), 1, (_, n) => n + 1);
                if (seen.Count == Messages)
                {
                    all.TrySetResult();
                }

                return Task.CompletedTask;
            };
            await members[i].SubscribeAsync("$share/g/t/requests", MqttQualityOfServiceLevel.AtLeastOnce);
        }

        try
        {
            using var publisher = await ConnectAsync(broker, "pub");
            for (var i = 0; i < Messages; i++)
            {
                await publisher.PublishStringAsync("t/requests", i.ToString(System.Globalization.CultureInfo.InvariantCulture), MqttQualityOfServiceLevel.AtLeastOnce);
            }

            await all.Task.WaitAsync(Wait);
            // Anything delivered twice would have arrived by the time a round trip through the broker completes.
            await publisher.PingAsync();
            await Task.Delay(100);
            Assert.All(seen.Values, n => Assert.Equal(1, n));
            Assert.Equal(Messages, counts[0] + counts[1]);
            Assert.True(counts[0] > 0 && counts[1] > 0, $"members received {counts[0]} and {counts[1]}");
        }
        finally
        {
            foreach (var member in members)
            {
                member.Dispose();
            }
        }
    }

    [Fact]
    public async Task StopAsync_KillsTheBroker_AndStartAgainAsync_ServesOnTheSamePort()
    {
        await using var broker = await LocalMosquitto.StartAsync();
        var port = broker.Port;
        using var client = await ConnectAsync(broker, "before");
        var disconnected = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DisconnectedAsync += e =>
        {
            disconnected.TrySetResult(e);
            return Task.CompletedTask;
        };

        await broker.StopAsync();
        Assert.False(broker.IsRunning);
        Assert.True((await disconnected.Task.WaitAsync(Wait)).ClientWasConnected);
        using (var probe = new TcpClient())
        {
            await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, port));
        }

        await broker.StartAgainAsync();
        Assert.True(broker.IsRunning);
        Assert.Equal(port, broker.Port);
        using var again = await ConnectAsync(broker, "after");
        Assert.True(again.IsConnected);
    }

    [Fact]
    public void WithoutMosquitto_TheErrorSaysHowToInstallIt()
    {
        var missing = Path.Combine(Path.GetTempPath(), "typedrpc-no-such-directory");
        var error = Assert.Throws<InvalidOperationException>(() => LocalMosquitto.Locate(missing, [missing]));
        Assert.Contains("apt-get install -y mosquitto", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABrokerThatExits_FailsTheStart_WithItsOutput()
    {
        // "sh -c <config file>" runs the file's path as a command: it exits at once, saying why on stderr.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => LocalMosquitto.StartAsync("/bin/sh", Wait, default));
        Assert.Contains("exited with code", error.Message, StringComparison.Ordinal);
        Assert.Contains("mosquitto.conf", error.Message, StringComparison.Ordinal);
    }

    private static async Task<IMqttClient> ConnectAsync(LocalMosquitto broker, string clientId)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        try
        {
            var options = new MqttClientOptionsBuilder()
                .WithTcpServer(broker.Host, broker.Port)
                .WithProtocolVersion(MqttProtocolVersion.V500)
                .WithClientId(clientId)
                .WithTimeout(Wait)
                .Build();
            using var cts = new CancellationTokenSource(Wait);
            await client.ConnectAsync(options, cts.Token);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }
}
