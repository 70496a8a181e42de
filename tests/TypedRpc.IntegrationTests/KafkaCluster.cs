using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Hosting;
using TypedRpc.Kafka;
using TypedRpc.Ownership;
using TypedRpc.Redis;
using TypedRpc.Transport;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// Client and server instances of one deployment over Kafka: each its own service provider (as a
/// separate process would be), with names unique to this cluster so test classes never share a
/// topic or a consumer group.
/// </summary>
public sealed class KafkaCluster : IDeployment
{
    private readonly KafkaFixture _kafka;
    private readonly Instances _instances;
    private int _nextInstance;

    /// <param name="kafka">The shared Kafka.</param>
    /// <param name="storeFactory">A store per instance (each its own Redis connection), all on one namespace.</param>
    public KafkaCluster(KafkaFixture kafka, Func<RedisOwnershipStore> storeFactory, string? ns = null)
    {
        _kafka = kafka;
        _instances = new Instances(storeFactory, State);
        Namespace = ns ?? string.Empty;
        Name = KafkaFixture.Unique("it");
        RequestTopic = Name + ".integration.requests";
        ReplyTopic = Name + ".replies";
        DeadLetterTopic = Name + ".dead-letters";
        kafka.CreateTopic(RequestTopic, 4);
        kafka.CreateTopic(ReplyTopic, 8);
        kafka.CreateTopic(DeadLetterTopic, 1);
    }

    public string Name { get; }

    /// <summary>The Redis namespace the instances share (empty when the caller did not say).</summary>
    public string Namespace { get; }

    public string RequestTopic { get; }

    public string ReplyTopic { get; }

    public string DeadLetterTopic { get; }

    /// <summary>How replies reach the callers.</summary>
    public ReplyRouting Routing { get; set; } = ReplyRouting.LeasedPartitions;

    /// <summary>Lease timing for the cluster (short in tests of failover).</summary>
    public TimeSpan LeaseTimeToLive { get; set; } = TimeSpan.FromSeconds(10);

    public IntegrationState State { get; } = new();

    public string BootstrapServers => _kafka.BootstrapServers;

    public void Configure(KafkaTransportOptions o)
    {
        if (_kafka.Embedded is { } embedded)
        {
            embedded.ConfigureTransport(o);
        }
        else
        {
            o.BootstrapServers = _kafka.BootstrapServers;
            // Short sessions, so the failover tests notice a dead member within seconds; 6 s is a
            // real broker's smallest (group.min.session.timeout.ms).
            o.ConsumerSettings["session.timeout.ms"] = "6000";
            o.ConsumerSettings["heartbeat.interval.ms"] = "500";
        }

        o.ClientGroup = Name;
        o.RequestTopics["integration"] = RequestTopic;
        o.ServerGroupPrefix = Name + ".";
        o.DeadLetterTopic = DeadLetterTopic;
        o.ReplyPartitions = 8;
        o.RequestPartitions = 4;
        o.ReplyRouting = Routing;
        o.LeaseTimeToLive = LeaseTimeToLive;
        o.LeaseRenewInterval = LeaseTimeToLive / 4;
    }

    public Task<IServiceProvider> StartAsync(bool client, bool server, IUnmatchedReplyHandler? unmatched = null, string? instanceId = null, Action<TypedRpcOptions>? configure = null) =>
        _instances.StartAsync(instanceId ?? $"{Name}-{Interlocked.Increment(ref _nextInstance)}", client, server, unmatched, configure, b => b.AddKafka(Configure));

    /// <summary>Stops an instance gracefully (drain, release, close).</summary>
    public Task StopAsync(IServiceProvider instance) => _instances.StopAsync(instance);

    /// <summary>Kills an instance's Kafka clients as a crash would (no commit, no lease release), and forgets it.</summary>
    public async Task CrashAsync(IServiceProvider instance)
    {
        _instances.Forget(instance);
        await instance.GetRequiredService<KafkaRpcTransport>().SimulateCrashAsync();
    }

    /// <inheritdoc />
    public async Task SendRawRequestAsync(CorrelationId id, string method, RpcReplyAddress replyTo, long deadlineUnixMs, byte[] payload)
    {
        using var raw = new RawKafka(BootstrapServers);
        var headers = RawKafka.RequestHeaders(id, method, replyTo.Destination, replyTo.Partition, deadlineUnixMs);
        await raw.ProduceAsync(RequestTopic, id.ToByteArray(), payload, headers);
    }

    public ValueTask DisposeAsync() => _instances.DisposeAsync();
}
