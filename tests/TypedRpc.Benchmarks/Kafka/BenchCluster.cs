using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Benchmarks.Contract;
using TypedRpc.DevServices;
using TypedRpc.Hosting;
using TypedRpc.Kafka;
using TypedRpc.Mqtt;

namespace TypedRpc.Benchmarks.Kafka;

/// <summary>
/// A fresh mock Kafka cluster and a fresh redis-server for one scenario (the mock slows down as
/// its partitions fill, so no scenario inherits another's records), and a mosquitto broker for the
/// scenarios that compare the MQTT transport.
/// </summary>
public sealed class BenchCluster : IAsyncDisposable
{
    private static int s_names;
    private readonly List<BenchInstance> _instances = new();

    private readonly LocalMosquitto? _mosquitto;

    private BenchCluster(EmbeddedKafka kafka, LocalRedisServer redis, LocalMosquitto? mosquitto)
    {
        Kafka = kafka;
        Redis = redis;
        _mosquitto = mosquitto;
    }

    public EmbeddedKafka Kafka { get; }

    public LocalRedisServer Redis { get; }

    public string BootstrapServers => Kafka.BootstrapServers;

    /// <summary>The MQTT broker (clusters started with one only).</summary>
    public LocalMosquitto Mosquitto => _mosquitto ?? throw new InvalidOperationException("This cluster was started without an MQTT broker.");

    /// <param name="mqtt">Start a mosquitto broker too, for <see cref="NewMqttDeployment"/> and raw MQTT clients.</param>
    public static async Task<BenchCluster> StartAsync(bool mqtt = false)
    {
        var kafka = new EmbeddedKafka(brokers: 1);
        LocalRedisServer? redis = null;
        try
        {
            redis = await LocalRedisServer.StartAsync();
            return new BenchCluster(kafka, redis, mqtt ? await LocalMosquitto.StartAsync() : null);
        }
        catch
        {
            kafka.Dispose();
            if (redis is not null)
            {
                await redis.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>A name no other topic or group in this process has.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Interlocked.Increment(ref s_names)}";

    /// <summary>A new set of topics and groups: one server group and one client group, as one deployment would have.</summary>
    public Deployment NewDeployment(string prefix, int requestPartitions = 8, int replyPartitions = 16)
    {
        var deployment = new Deployment(this, Unique(prefix), requestPartitions, replyPartitions);
        Kafka.CreateTopic(deployment.RequestTopic, requestPartitions);
        Kafka.CreateTopic(deployment.ReplyTopic, replyPartitions);
        return deployment;
    }

    /// <summary>A deployment whose instances talk over the MQTT broker: its own topics (under its name), server group and client group.</summary>
    public Deployment NewMqttDeployment(string prefix)
    {
        _ = Mosquitto;
        return new Deployment(this, Unique(prefix), 0, 0, mqtt: true);
    }

    /// <summary>A topic of its own (for the raw contender).</summary>
    public string NewTopic(string prefix, int partitions)
    {
        var topic = Unique(prefix);
        Kafka.CreateTopic(topic, partitions);
        return topic;
    }

    internal void Track(BenchInstance instance)
    {
        lock (_instances)
        {
            _instances.Add(instance);
        }
    }

    internal void Forget(BenchInstance instance)
    {
        lock (_instances)
        {
            _instances.Remove(instance);
        }
    }

    public async ValueTask DisposeAsync()
    {
        BenchInstance[] instances;
        lock (_instances)
        {
            instances = _instances.ToArray();
        }

        // Stopping is bounded by each transport's CloseTimeout; do it in parallel.
        var stops = new List<Task>();
        foreach (var instance in instances)
        {
            stops.Add(instance.StopAsync().AsTask());
        }

        await Task.WhenAll(stops);
        Kafka.Dispose();
        await Redis.DisposeAsync();
        if (_mosquitto is not null)
        {
            await _mosquitto.DisposeAsync();
        }
    }
}

/// <summary>How one TypedRpc instance of a deployment is set up.</summary>
public sealed record InstanceSettings
{
    public ReplyRouting Routing { get; init; } = ReplyRouting.LeasedPartitions;

    /// <summary>Redis ownership records and server claims on (the default deployment) or off.</summary>
    public bool UseRedis { get; init; } = true;

    public int MaxConcurrentRequests { get; init; } = 512;

    public TimeSpan LeaseTimeToLive { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The client group (and so the reply topic) of a client instance, from
    /// <see cref="Deployment.NewClientGroup"/>; default the deployment's own. Several client groups
    /// can call one server group, so scenarios that compare routings share one server.
    /// </summary>
    public string? ClientGroup { get; init; }
}

/// <summary>The topics and groups of one deployment of <see cref="IBenchService"/> (a server cluster and a client cluster).</summary>
public sealed class Deployment
{
    private readonly BenchCluster _cluster;
    private int _instances;

    internal Deployment(BenchCluster cluster, string name, int requestPartitions, int replyPartitions, bool mqtt = false)
    {
        _cluster = cluster;
        Name = name;
        OverMqtt = mqtt;
        RequestPartitions = requestPartitions;
        ReplyPartitions = replyPartitions;
        RedisNamespace = "b" + name.Replace("-", "", StringComparison.Ordinal);
    }

    public string Name { get; }

    /// <summary>Whether its instances use the MQTT transport (Kafka otherwise; the Kafka topics and partitions then mean nothing).</summary>
    public bool OverMqtt { get; }

    public string RequestTopic => Name + ".requests";

    public string ReplyTopic => Name + ".replies";

    public int RequestPartitions { get; }

    public int ReplyPartitions { get; }

    public string RedisNamespace { get; }

    /// <summary>A further client group calling this deployment's servers, with a reply topic of its own.</summary>
    public string NewClientGroup(string prefix)
    {
        var group = BenchCluster.Unique(Name + "-" + prefix);
        if (!OverMqtt)
        {
            _cluster.Kafka.CreateTopic(group + ".replies", ReplyPartitions);
        }
        return group;
    }

    /// <summary>Starts one instance (its own service provider, Kafka clients or MQTT connections, and Redis connection, as its own process would have).</summary>
    public async Task<BenchInstance> StartAsync(bool client, bool server, InstanceSettings settings)
    {
        var services = new ServiceCollection();
        var id = $"{Name}-{Interlocked.Increment(ref _instances)}";
        var builder = services.AddTypedRpc(o =>
        {
            o.InstanceId = id;
            o.MaxConcurrentRequests = settings.MaxConcurrentRequests;
            o.EnableOwnership = settings.UseRedis;
            o.EnableClaims = settings.UseRedis;
        });
        if (OverMqtt)
        {
            builder.AddMqtt(o =>
            {
                o.Server = $"{_cluster.Mosquitto.Host}:{_cluster.Mosquitto.Port}";
                o.ClientGroup = settings.ClientGroup ?? Name;
                o.RequestTopic = Name + "/{service}/requests/{method}";
                o.ServerGroupPrefix = Name + ".";
                // As the option advises: the broker's window of unacknowledged requests per server
                // near the engine's limit, so neither is what a scenario measures.
                o.ReceiveMaximum = settings.MaxConcurrentRequests;
                o.SessionExpiry = TimeSpan.FromSeconds(30);
                o.CloseTimeout = TimeSpan.FromSeconds(3);
            });
        }
        else
        {
            builder.AddKafka(o =>
            {
                _cluster.Kafka.ConfigureTransport(o);
                o.ClientGroup = settings.ClientGroup ?? Name;
                o.RequestTopics["bench"] = RequestTopic;
                o.ReplyTopic = (settings.ClientGroup ?? Name) + ".replies";
                o.ServerGroupPrefix = Name + ".";
                o.ReplyPartitions = ReplyPartitions;
                o.RequestPartitions = RequestPartitions;
                o.ReplyRouting = settings.Routing;
                o.LeaseTimeToLive = settings.LeaseTimeToLive;
                o.LeaseRenewInterval = settings.LeaseTimeToLive / 4;
                o.CloseTimeout = TimeSpan.FromSeconds(3);
            });
        }

        if (settings.UseRedis)
        {
            builder.AddRedis(r =>
            {
                r.Configuration = _cluster.Redis.Configuration;
                r.Namespace = RedisNamespace;
            });
        }

        if (client)
        {
            builder.AddClient<IBenchService>();
        }

        if (server)
        {
            builder.AddServer<BenchService>();
        }

        var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        var instance = new BenchInstance(_cluster, provider, runtime);
        _cluster.Track(instance);
        return instance;
    }
}

/// <summary>One running TypedRpc instance.</summary>
public sealed class BenchInstance
{
    private readonly BenchCluster _cluster;
    private int _stopped;

    internal BenchInstance(BenchCluster cluster, ServiceProvider provider, TypedRpcRuntime runtime)
    {
        _cluster = cluster;
        Provider = provider;
        Runtime = runtime;
        Service = provider.GetService<IBenchService>();
    }

    public ServiceProvider Provider { get; }

    public TypedRpcRuntime Runtime { get; }

    /// <summary>The proxy (client instances only).</summary>
    public IBenchService? Service { get; }

    public IBenchService Client => Service ?? throw new InvalidOperationException("Not a client instance.");

    public RpcClient RpcClient => Provider.GetRequiredService<RpcClient>();

    public KafkaRpcTransport Transport => Provider.GetRequiredService<KafkaRpcTransport>();

    /// <summary>Graceful stop: drain, release leases, close.</summary>
    public async ValueTask StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        _cluster.Forget(this);
        await Runtime.StopAsync(CancellationToken.None);
        await Provider.DisposeAsync();
    }

    /// <summary>
    /// Kills the instance's Kafka clients as a crash would (no commit, no lease release, no Close),
    /// through the transport's internal test seam <c>SimulateCrashAsync</c> (the one the
    /// integration tests use; reached by reflection so the benchmarks need no access to the
    /// transport's internals).
    /// </summary>
    public async Task CrashAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        _cluster.Forget(this);
        var seam = typeof(KafkaRpcTransport).GetMethod("SimulateCrashAsync", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)
            ?? throw new MissingMethodException(nameof(KafkaRpcTransport), "SimulateCrashAsync");
        await (Task)seam.Invoke(Transport, null)!;
    }
}
