using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.InMemory;
using TypedRpc.Kafka;
using TypedRpc.Ownership;
using TypedRpc.Redis;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>Which reply-partition lease store <c>AddKafka</c> gives the transport (no broker needed: nothing is sent).</summary>
public sealed class KafkaLeaseStoreRegistrationTests
{
    [Fact]
    public async Task TheInMemoryStore_BringsTheLeasesKeptBesideIt_WhicheverIsRegisteredFirst()
    {
        var store = new InMemoryOwnershipStore();
        var services = new ServiceCollection();
        services.AddTypedRpc().UseInMemoryOwnershipStore(store).AddKafka(Kafka);
        await using var provider = services.BuildServiceProvider();
        Assert.Same(InMemoryReplyPartitionLeaseStore.For(store), provider.GetRequiredService<IReplyPartitionLeaseStore>());

        var later = new ServiceCollection();
        later.AddTypedRpc().AddKafka(Kafka).UseInMemoryOwnershipStore(store);
        await using var laterProvider = later.BuildServiceProvider();
        Assert.Same(InMemoryReplyPartitionLeaseStore.For(store), laterProvider.GetRequiredService<IReplyPartitionLeaseStore>());
    }

    [Fact]
    public async Task TheRedisStore_BringsItsLeases_AndIsOneInstanceUnderEachInterface()
    {
        var services = new ServiceCollection();
        services.AddTypedRpc().AddKafka(Kafka).AddRedis(r => r.Configuration = "127.0.0.1:1");
        await using var provider = services.BuildServiceProvider();
        Assert.IsType<RedisReplyPartitionLeaseStore>(provider.GetRequiredService<IReplyPartitionLeaseStore>());
        var store = provider.GetRequiredService<RedisOwnershipStore>();
        Assert.Same(store, provider.GetRequiredService<IRpcOwnershipStore>());
        Assert.Same(store, provider.GetRequiredService<IRpcClaimStore>());
    }

    [Fact]
    public async Task AnApplicationsOwnLeaseStore_IsKept()
    {
        var own = new InMemoryReplyPartitionLeaseStore();
        var services = new ServiceCollection();
        services.AddSingleton<IReplyPartitionLeaseStore>(own);
        services.AddTypedRpc().AddKafka(Kafka).AddRedis(r => r.Configuration = "127.0.0.1:1");
        await using var provider = services.BuildServiceProvider();
        Assert.Same(own, provider.GetRequiredService<IReplyPartitionLeaseStore>());
        Assert.NotNull(provider.GetRequiredService<KafkaRpcTransport>());
    }

    [Fact]
    public async Task LeasedPartitions_OverAnotherStoreWithoutALeaseStore_FailsSayingSo()
    {
        var services = new ServiceCollection();
        services.AddTypedRpc().AddKafka(Kafka);
        services.AddSingleton<IRpcOwnershipStore>(new OwnersOnly());
        await using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<KafkaRpcTransport>());
        Assert.Contains(nameof(IReplyPartitionLeaseStore), error.Message, StringComparison.Ordinal);
        Assert.Contains("TypedRpc:Kafka:ReplyRouting", error.Message, StringComparison.Ordinal);

        // Another routing needs no lease store, and neither does a transport kept from the store.
        var grouped = new ServiceCollection();
        grouped.AddTypedRpc().AddKafka(o => { Kafka(o); o.ReplyRouting = ReplyRouting.ConsumerGroup; });
        grouped.AddSingleton<IRpcOwnershipStore>(new OwnersOnly());
        await using var groupedProvider = grouped.BuildServiceProvider();
        Assert.NotNull(groupedProvider.GetRequiredService<KafkaRpcTransport>());

        var withoutOwnership = new ServiceCollection();
        withoutOwnership.AddTypedRpc(o => o.EnableOwnership = false).AddKafka(Kafka);
        withoutOwnership.AddSingleton<IRpcOwnershipStore>(new OwnersOnly());
        await using var withoutProvider = withoutOwnership.BuildServiceProvider();
        Assert.NotNull(withoutProvider.GetRequiredService<KafkaRpcTransport>());
    }

    private static void Kafka(KafkaTransportOptions o)
    {
        o.BootstrapServers = "127.0.0.1:1";
        o.ClientGroup = "lease-registration";
    }

    /// <summary>An ownership store the Kafka transport knows no leases for.</summary>
    private sealed class OwnersOnly : IRpcOwnershipStore
    {
        public ValueTask RegisterOwnerAsync(CorrelationId id, RpcOwner owner, TimeSpan timeToLive, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<RpcOwner?> GetOwnerAsync(CorrelationId id, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask ReleaseOwnerAsync(CorrelationId id, string instanceId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask StoreReplyAsync(RpcReply reply, TimeSpan timeToLive, string? notifyInstance, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<RpcReply>> GetRepliesAsync(CorrelationId id, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask NotifyAsync(string instanceId, CorrelationId id, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<IAsyncDisposable> SubscribeWakeUpsAsync(string instanceId, Func<CorrelationId, ValueTask> onWakeUp, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
