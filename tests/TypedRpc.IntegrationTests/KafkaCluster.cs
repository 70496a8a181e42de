using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Hosting;
using TypedRpc.Kafka;
using TypedRpc.Ownership;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// Client and server instances of one deployment over Kafka: each its own service provider (as a
/// separate process would be), with names unique to this cluster so test classes never share a
/// topic or a consumer group.
/// </summary>
public sealed class KafkaCluster : IAsyncDisposable
{
    private readonly KafkaFixture _kafka;
    private readonly List<(ServiceProvider Provider, TypedRpcRuntime Runtime)> _instances = new();

    public KafkaCluster(KafkaFixture kafka, IRpcOwnershipStore store)
    {
        _kafka = kafka;
        Store = store;
        Name = KafkaFixture.Unique("it");
        RequestTopic = Name + ".integration.requests";
        ReplyTopic = Name + ".replies";
        DeadLetterTopic = Name + ".dead-letters";
        kafka.CreateTopic(RequestTopic, 4);
        kafka.CreateTopic(ReplyTopic, 8);
        kafka.CreateTopic(DeadLetterTopic, 1);
    }

    public string Name { get; }

    public string RequestTopic { get; }

    public string ReplyTopic { get; }

    public string DeadLetterTopic { get; }

    public IRpcOwnershipStore Store { get; }

    public IntegrationState State { get; } = new();

    public string BootstrapServers => _kafka.BootstrapServers;

    public void Configure(KafkaTransportOptions o)
    {
        o.BootstrapServers = _kafka.BootstrapServers;
        o.ClientGroup = Name;
        o.RequestTopics["integration"] = RequestTopic;
        o.ServerGroupPrefix = Name + ".";
        o.DeadLetterTopic = DeadLetterTopic;
        o.ReplyPartitions = 8;
        o.RequestPartitions = 4;
        // The mock holds an empty fetch for the whole wait; a real broker answers on data.
        o.FetchWaitMax = TimeSpan.FromMilliseconds(_kafka.Embedded is null ? 10 : 1);
        o.Settings["session.timeout.ms"] = "6000";
        o.Settings["heartbeat.interval.ms"] = "500";
    }

    public async Task<IServiceProvider> StartAsync(bool client, bool server, IUnmatchedReplyHandler? unmatched = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(State);
        if (unmatched is not null)
        {
            services.AddSingleton(unmatched);
        }

        var builder = services.AddTypedRpc(o => o.InstanceId = $"{Name}-{_instances.Count + 1}").AddKafka(Configure);
        services.AddSingleton(Store);
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
        _instances.Add((provider, runtime));
        return provider;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (provider, runtime) in _instances)
        {
            await runtime.StopAsync(CancellationToken.None);
            await provider.DisposeAsync();
        }

        if (Store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }
}
