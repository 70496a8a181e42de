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
    private readonly List<(ServiceProvider Provider, TypedRpcRuntime Runtime)> _instances = new();
    private readonly Func<RedisOwnershipStore> _storeFactory;
    private readonly List<RedisOwnershipStore> _stores = new();
    private int _nextInstance;

    /// <param name="broker">The shared broker.</param>
    /// <param name="storeFactory">A store per instance (each its own Redis connection), all on one namespace.</param>
    /// <param name="ns">The Redis namespace.</param>
    public MqttCluster(MosquittoFixture broker, Func<RedisOwnershipStore> storeFactory, string ns)
    {
        _broker = broker;
        _storeFactory = storeFactory;
        Namespace = ns;
        Name = MosquittoFixture.Unique("mq");
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

    public async Task<IServiceProvider> StartAsync(bool client, bool server, IUnmatchedReplyHandler? unmatched = null, string? instanceId = null, Action<TypedRpcOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(State);
        if (unmatched is not null)
        {
            services.AddSingleton(unmatched);
        }

        var id = instanceId ?? $"{Name}-{Interlocked.Increment(ref _nextInstance)}";
        var builder = services.AddTypedRpc(o =>
        {
            o.InstanceId = id;
            configure?.Invoke(o);
        }).AddMqtt(Configure);
        var store = _storeFactory();
        lock (_stores)
        {
            _stores.Add(store);
        }

        services.AddSingleton(store);
        services.AddSingleton<IRpcOwnershipStore>(store);
        services.AddSingleton<IRpcClaimStore>(store);
        if (client)
        {
            builder.AddClient<IIntegrationService>();
        }

        if (server)
        {
            builder.AddServer<IntegrationService>();
        }

        var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        lock (_instances)
        {
            _instances.Add((provider, runtime));
        }

        return provider;
    }

    public async Task StopAsync(IServiceProvider instance)
    {
        (ServiceProvider Provider, TypedRpcRuntime Runtime) found;
        lock (_instances)
        {
            var index = _instances.FindIndex(i => ReferenceEquals(i.Provider, instance));
            found = _instances[index];
            _instances.RemoveAt(index);
        }

        await found.Runtime.StopAsync(CancellationToken.None);
        await found.Provider.DisposeAsync();
    }

    public async Task CrashAsync(IServiceProvider instance)
    {
        lock (_instances)
        {
            _instances.RemoveAll(i => ReferenceEquals(i.Provider, instance));
        }

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

    public async ValueTask DisposeAsync()
    {
        (ServiceProvider Provider, TypedRpcRuntime Runtime)[] instances;
        lock (_instances)
        {
            instances = _instances.ToArray();
            _instances.Clear();
        }

        foreach (var (provider, runtime) in instances)
        {
            await runtime.StopAsync(CancellationToken.None);
            await provider.DisposeAsync();
        }

        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }
}
