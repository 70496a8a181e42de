using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedRpc.Hosting;
using TypedRpc.Mqtt;
using TypedRpc.Ownership;
using TypedRpc.Redis;
using TypedRpc.Transport;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// Client and server instances of one deployment over an MQTT 5 broker and a real redis-server, with
/// topics and client ids unique to this cluster.
/// </summary>
public sealed class MqttCluster : IDeployment
{
    private readonly MosquittoFixture _broker;
    private readonly Instances _instances;
    private int _nextInstance;

    /// <param name="broker">The shared broker.</param>
    /// <param name="storeFactory">A store per instance (each its own Redis connection), all on one namespace.</param>
    /// <param name="ns">The Redis namespace.</param>
    public MqttCluster(MosquittoFixture broker, Func<RedisOwnershipStore> storeFactory, string ns)
    {
        _broker = broker;
        Namespace = ns;
        Name = MosquittoFixture.Unique("mq");
        _instances = new Instances(storeFactory, State);
    }

    public string Name { get; }

    public string Namespace { get; }

    public IntegrationState State { get; } = new();

    public string Server => _broker.Server;

    /// <summary>The request topic pattern (unique to this cluster).</summary>
    public string RequestTopic => Name + "/{service}/requests/{method}";

    public string DeadLetterTopic => Name + "/dead-letters";

    /// <summary>How long a caller waits for a claim before publishing a request again (the product's 5 s by default).</summary>
    public TimeSpan? RepublishUnclaimedAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Runs after the cluster's own settings (a test's server, credentials, TLS).</summary>
    public Action<MqttTransportOptions>? ConfigureTransport { get; set; }

    public void Configure(MqttTransportOptions o)
    {
        o.Server = _broker.Server;
        o.ClientGroup = Name;
        o.RequestTopic = RequestTopic;
        o.ServerGroupPrefix = Name + ".";
        o.DeadLetterTopic = DeadLetterTopic;
        // Short, so a crashed test instance's session does not linger on a shared broker.
        o.SessionExpiry = TimeSpan.FromSeconds(30);
        o.CloseTimeout = TimeSpan.FromSeconds(2);
        o.RepublishUnclaimedAfter = RepublishUnclaimedAfter;
        ConfigureTransport?.Invoke(o);
    }

    public Task<IServiceProvider> StartAsync(bool client, bool server, IUnmatchedReplyHandler? unmatched = null, string? instanceId = null, Action<TypedRpcOptions>? configure = null) =>
        _instances.StartAsync(instanceId ?? $"{Name}-{Interlocked.Increment(ref _nextInstance)}", client, server, unmatched, configure, b => b.AddMqtt(Configure));

    public Task StopAsync(IServiceProvider instance) => _instances.StopAsync(instance);

    public async Task CrashAsync(IServiceProvider instance)
    {
        _instances.Forget(instance);
        await instance.GetRequiredService<MqttRpcTransport>().SimulateCrashAsync();
    }

    /// <inheritdoc />
    public async Task SendRawRequestAsync(CorrelationId id, string method, RpcReplyAddress replyTo, long deadlineUnixMs, byte[] payload)
    {
        var slash = method.IndexOf('/', StringComparison.Ordinal);
        var topic = RequestTopic.Replace("{service}", method[..slash], StringComparison.Ordinal).Replace("{method}", method[(slash + 1)..], StringComparison.Ordinal);
        await PublishRawAsync(new MqttApplicationMessage
        {
            Topic = topic,
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            ResponseTopic = replyTo.Destination,
            CorrelationData = id.ToByteArray(),
            Payload = new ReadOnlySequence<byte>(payload),
            UserProperties = new List<MqttUserProperty>
            {
                new("trpc-v", "1"u8.ToArray()),
                new("trpc-method", System.Text.Encoding.UTF8.GetBytes(method)),
                new("trpc-owner", "raw"u8.ToArray()),
                new("trpc-deadline", System.Text.Encoding.UTF8.GetBytes(deadlineUnixMs.ToString(CultureInfo.InvariantCulture))),
            },
        });
    }

    /// <summary>Publishes a message as it is, through a client of its own.</summary>
    public async Task<MqttClientPublishResult> PublishRawAsync(MqttApplicationMessage message)
    {
        var host = _broker.Server[.._broker.Server.LastIndexOf(':')];
        var port = int.Parse(_broker.Server[(_broker.Server.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(MosquittoFixture.Unique(Name + "-raw")).WithTimeout(TimeSpan.FromSeconds(10)).Build());
        var result = await client.PublishAsync(message);
        await client.DisconnectAsync();
        return result;
    }

    public ValueTask DisposeAsync() => _instances.DisposeAsync();

    /// <summary>Claims that expire 1.5 s after their server dies, so a request it held is taken over quickly.</summary>
    public static void FastClaims(TypedRpcOptions o)
    {
        o.StoreOperationTimeout = TimeSpan.FromMilliseconds(500);
        o.ClaimTimeToLive = TimeSpan.FromMilliseconds(1_500);
    }
}
