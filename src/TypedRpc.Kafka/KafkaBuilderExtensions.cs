using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TypedRpc.Kafka;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc;

/// <summary>Registers the Kafka transport.</summary>
public static class KafkaBuilderExtensions
{
    /// <summary>Uses Kafka as the transport. Settings are validated on start; each message names the setting.</summary>
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
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode("Binding configuration uses reflection over KafkaTransportOptions.")]
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode("Binding configuration uses reflection over KafkaTransportOptions.")]
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
        // Reply-partition leases live in the ownership store. With TypedRpc:EnableOwnership off
        // nothing about replies goes through the store: each instance reads the partition its id
        // hashes to, without a lease.
        builder.Services.TryAddSingleton(static sp => new KafkaRpcTransport(
            sp.GetRequiredService<IOptions<KafkaTransportOptions>>().Value,
            sp.GetRequiredService<IOptions<TypedRpcOptions>>().Value.EnableOwnership ? sp.GetService<IRpcOwnershipStore>() : null,
            sp.GetService<ILogger<KafkaRpcTransport>>()));
        builder.Services.AddSingleton<IRpcTransport>(static sp => sp.GetRequiredService<KafkaRpcTransport>());
        return builder;
    }
}
