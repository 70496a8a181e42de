using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TypedRpc.InMemory;
using TypedRpc.Kafka;
using TypedRpc.Ownership;
using TypedRpc.Redis;
using TypedRpc.Transport;

namespace TypedRpc;

/// <summary>Registers the Kafka transport.</summary>
public static class KafkaBuilderExtensions
{
    /// <summary>
    /// Uses Kafka as the transport. Settings are validated on start; each message names the setting.
    /// Reply partitions (<see cref="ReplyRouting.LeasedPartitions"/>) are leased in the
    /// <see cref="IReplyPartitionLeaseStore"/> registered, or else in one kept beside the ownership
    /// store: <see cref="RedisReplyPartitionLeaseStore"/> for <c>AddRedis</c>,
    /// <see cref="InMemoryReplyPartitionLeaseStore"/> for <c>UseInMemoryOwnershipStore</c>; another
    /// ownership store needs a lease store registered, or the start fails saying so.
    /// </summary>
    /// <param name="builder">The builder from <c>AddTypedRpc()</c>.</param>
    /// <param name="configure">Configures the transport (bootstrap servers, client group, topics, librdkafka settings).</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder AddKafka(this ITypedRpcBuilder builder, Action<KafkaTransportOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<KafkaTransportOptions>().Configure(configure);
        return AddKafkaCore(builder);
    }

    /// <summary>
    /// Uses Kafka as the transport, with its settings bound from configuration — pass the
    /// <c>TypedRpc:Kafka</c> section (librdkafka settings go under its <c>Settings</c> key);
    /// <paramref name="configure"/> runs after binding.
    /// </summary>
    /// <param name="builder">The builder from <c>AddTypedRpc()</c>.</param>
    /// <param name="configuration">The <c>TypedRpc:Kafka</c> configuration section.</param>
    /// <param name="configure">Further configuration, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder AddKafka(this ITypedRpcBuilder builder, Microsoft.Extensions.Configuration.IConfiguration configuration, Action<KafkaTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = builder.Services.AddOptions<KafkaTransportOptions>().Bind(configuration);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddKafkaCore(builder);
    }

    private static ITypedRpcBuilder AddKafkaCore(ITypedRpcBuilder builder)
    {
        builder.Services.AddOptions<KafkaTransportOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaTransportOptions>, KafkaTransportOptionsValidator>());
        builder.Services.RemoveAll<IRpcTransport>();
        // Resolved when first needed, so that AddRedis or UseInMemoryOwnershipStore may come after AddKafka.
        builder.Services.TryAddSingleton<IReplyPartitionLeaseStore>(static sp => LeasesBeside(sp.GetService<IRpcOwnershipStore>()));
        builder.Services.TryAddSingleton(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<KafkaTransportOptions>>().Value;
            return new KafkaRpcTransport(options, Leases(sp, options), sp.GetService<ILogger<KafkaRpcTransport>>());
        });
        builder.Services.AddSingleton<IRpcTransport>(static sp => sp.GetRequiredService<KafkaRpcTransport>());
        return builder;
    }

    // Leases only make sense with an ownership store: replies read by the partition's other
    // readers are forwarded through it. With TypedRpc:EnableOwnership off, or no store, each
    // instance reads the partition its id hashes to, without a lease.
    private static IReplyPartitionLeaseStore? Leases(IServiceProvider services, KafkaTransportOptions options) =>
        options.ReplyRouting == ReplyRouting.LeasedPartitions
        && services.GetRequiredService<IOptions<TypedRpcOptions>>().Value.EnableOwnership
        && services.GetService<IRpcOwnershipStore>() is not null
            ? services.GetRequiredService<IReplyPartitionLeaseStore>()
            : null;

    private static IReplyPartitionLeaseStore LeasesBeside(IRpcOwnershipStore? store) => store switch
    {
        RedisOwnershipStore redis => new RedisReplyPartitionLeaseStore(redis.Leases),
        InMemoryOwnershipStore memory => InMemoryReplyPartitionLeaseStore.For(memory),
        _ => throw new InvalidOperationException(
            $"{KafkaTransportOptions.SectionName}:{nameof(KafkaTransportOptions.ReplyRouting)} is {nameof(ReplyRouting.LeasedPartitions)}, which needs an "
            + $"{nameof(IReplyPartitionLeaseStore)}: none is registered, and the ownership store ({store?.GetType().FullName ?? "none"}) keeps no leases "
            + $"TypedRpc.Kafka knows of (it knows {nameof(RedisOwnershipStore)} and {nameof(InMemoryOwnershipStore)}). Register one "
            + $"(services.AddSingleton<{nameof(IReplyPartitionLeaseStore)}>(…)), or choose another {nameof(KafkaTransportOptions.ReplyRouting)}."),
    };
}
