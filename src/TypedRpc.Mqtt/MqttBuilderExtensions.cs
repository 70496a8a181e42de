using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TypedRpc.Mqtt;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc;

/// <summary>Registers the MQTT 5 transport.</summary>
public static class MqttBuilderExtensions
{
    /// <summary>Uses an MQTT 5 broker as the transport. Settings are validated on start; each message names the setting.</summary>
    /// <param name="builder">The builder from <c>AddTypedRpc()</c>.</param>
    /// <param name="configure">Configures the transport (broker, client group, topics, credentials, TLS).</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder AddMqtt(this ITypedRpcBuilder builder, Action<MqttTransportOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<MqttTransportOptions>().Configure(configure);
        return AddMqttCore(builder);
    }

    /// <summary>
    /// Uses an MQTT 5 broker as the transport, with its settings bound from configuration — pass the
    /// <c>TypedRpc:Mqtt</c> section; <paramref name="configure"/> runs after binding.
    /// </summary>
    /// <param name="builder">The builder from <c>AddTypedRpc()</c>.</param>
    /// <param name="configuration">The <c>TypedRpc:Mqtt</c> configuration section.</param>
    /// <param name="configure">Further configuration, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder AddMqtt(this ITypedRpcBuilder builder, Microsoft.Extensions.Configuration.IConfiguration configuration, Action<MqttTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = builder.Services.AddOptions<MqttTransportOptions>().Bind(configuration);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddMqttCore(builder);
    }

    private static ITypedRpcBuilder AddMqttCore(ITypedRpcBuilder builder)
    {
        builder.Services.AddOptions<MqttTransportOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MqttTransportOptions>, MqttTransportOptionsValidator>());
        builder.Services.RemoveAll<IRpcTransport>();
        builder.Services.TryAddSingleton(static sp =>
        {
            var rpc = sp.GetRequiredService<IOptions<TypedRpcOptions>>().Value;
            return new MqttRpcTransport(
                sp.GetRequiredService<IOptions<MqttTransportOptions>>().Value,
                rpc.InstanceId,
                sp.GetService<ILogger<MqttRpcTransport>>(),
                // Publishing an unclaimed request again is safe only where claims keep it to one run.
                rpc.EnableClaims ? sp.GetService<IRpcClaimStore>() : null);
        });
        builder.Services.AddSingleton<IRpcTransport>(static sp => sp.GetRequiredService<MqttRpcTransport>());
        return builder;
    }
}
