using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using TypedRpc.Benchmarks.Kafka;
using TypedRpc.DevServices;

namespace TypedRpc.Benchmarks.Mqtt;

/// <summary>
/// The raw MQTT contender: plain MQTTnet request/reply with nothing on top — a QoS 1 request with
/// an MQTT 5 response topic and correlation data, answered by a shared-subscription member that
/// publishes the reply straight back. Same broker, same MQTT settings that matter as TypedRpc's
/// transport (MQTT 5, QoS 1, its Receive Maximum, publishes bounded by the broker's).
/// </summary>
internal sealed class RawMqttConnection : IAsyncDisposable
{
    private RawMqttConnection(IMqttClient client, SemaphoreSlim window)
    {
        Client = client;
        Window = window;
    }

    public IMqttClient Client { get; }

    /// <summary>Unacknowledged publishes allowed at once: the broker's Receive Maximum, which MQTTnet does not enforce.</summary>
    public SemaphoreSlim Window { get; }

    /// <summary>Connects and subscribes at QoS 1 to <paramref name="filter"/>; <paramref name="onMessage"/> gets each message (MQTTnet acknowledges it when the handler returns).</summary>
    public static async Task<RawMqttConnection> ConnectAsync(LocalMosquitto broker, string clientId, int receiveMaximum, string filter, Func<MqttApplicationMessageReceivedEventArgs, Task> onMessage)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += onMessage;
        try
        {
            var result = await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithProtocolVersion(MqttProtocolVersion.V500)
                .WithClientId(clientId).WithReceiveMaximum((ushort)receiveMaximum).WithTimeout(TimeSpan.FromSeconds(10)).Build());
            var window = result.ReceiveMaximum is > 0 ? result.ReceiveMaximum.Value : ushort.MaxValue;
            await client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
            return new RawMqttConnection(client, new SemaphoreSlim(window, window));
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Client.IsConnected)
        {
            await Client.DisconnectAsync();
        }

        Client.Dispose();
        Window.Dispose();
    }
}

/// <summary>Answers raw MQTT requests: a member of a shared subscription on the request topic that publishes each reply to the request's response topic with its correlation data.</summary>
internal sealed class RawMqttServer : IAsyncDisposable
{
    private RawMqttConnection? _connection;
    private long _failures;

    public long Failures => Interlocked.Read(ref _failures);

    public static async Task<RawMqttServer> StartAsync(LocalMosquitto broker, string requestTopic, int receiveMaximum)
    {
        var server = new RawMqttServer();
        server._connection = await RawMqttConnection.ConnectAsync(broker, BenchCluster.Unique("raw-mqtt-server"), receiveMaximum, "$share/raw/" + requestTopic, server.OnRequestAsync);
        return server;
    }

    private async Task OnRequestAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var request = e.ApplicationMessage;
        if (request.ResponseTopic is null || request.CorrelationData is null)
        {
            Interlocked.Increment(ref _failures);
            return;
        }

        var reply = new MqttApplicationMessage
        {
            Topic = request.ResponseTopic,
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            // Copied: the received message's buffers are MQTTnet's once this handler returns.
            CorrelationData = request.CorrelationData.AsSpan().ToArray(),
            Payload = new ReadOnlySequence<byte>(RawKafkaConfig.ReplyBytes),
        };
        var window = _connection!.Window;
        if (!window.Wait(0))
        {
            await window.WaitAsync();
        }

        // Not awaited: the next request is read while the broker acknowledges this reply (as the
        // raw Kafka server produces without waiting for the delivery report).
        _ = SendAsync(reply, window);
    }

    private async Task SendAsync(MqttApplicationMessage reply, SemaphoreSlim window)
    {
        try
        {
            var result = await _connection!.Client.PublishAsync(reply);
            if (result.ReasonCode != MqttClientPublishReasonCode.Success)
            {
                Interlocked.Increment(ref _failures);
            }
        }
        catch (Exception)
        {
            Interlocked.Increment(ref _failures);
        }
        finally
        {
            window.Release();
        }
    }

    public ValueTask DisposeAsync() => _connection?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>Sends raw MQTT requests and completes each call's waiter when the reply with its correlation data arrives on the caller's own reply topic.</summary>
internal sealed class RawMqttClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _waiting = new();
    private readonly string _requestTopic;
    private readonly string _replyTopic;
    private RawMqttConnection? _connection;

    private RawMqttClient(string requestTopic, string replyTopic)
    {
        _requestTopic = requestTopic;
        _replyTopic = replyTopic;
    }

    public static async Task<RawMqttClient> StartAsync(LocalMosquitto broker, string requestTopic, string replyTopic, int receiveMaximum)
    {
        var client = new RawMqttClient(requestTopic, replyTopic);
        client._connection = await RawMqttConnection.ConnectAsync(broker, BenchCluster.Unique("raw-mqtt-client"), receiveMaximum, replyTopic, client.OnReplyAsync);
        return client;
    }

    /// <summary>One call: publish the request (waiting for the broker's acknowledgement), then wait for its reply.</summary>
    public async Task CallAsync()
    {
        var id = Guid.NewGuid();
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[id] = waiter;
        var message = new MqttApplicationMessage
        {
            Topic = _requestTopic,
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            ResponseTopic = _replyTopic,
            CorrelationData = id.ToByteArray(),
            Payload = new ReadOnlySequence<byte>(RawKafkaConfig.RequestBytes),
        };
        var connection = _connection!;
        await connection.Window.WaitAsync();
        MqttClientPublishResult result;
        try
        {
            result = await connection.Client.PublishAsync(message);
        }
        catch
        {
            _waiting.TryRemove(id, out _);
            throw;
        }
        finally
        {
            connection.Window.Release();
        }

        if (result.ReasonCode != MqttClientPublishReasonCode.Success)
        {
            _waiting.TryRemove(id, out _);
            throw new InvalidOperationException($"The broker refused the raw request: {result.ReasonCode}.");
        }

        await waiter.Task;
    }

    private Task OnReplyAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        if (e.ApplicationMessage.CorrelationData is { Length: 16 } data && _waiting.TryRemove(new Guid(data), out var waiter))
        {
            waiter.TrySetResult();
        }

        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => _connection?.DisposeAsync() ?? ValueTask.CompletedTask;
}
