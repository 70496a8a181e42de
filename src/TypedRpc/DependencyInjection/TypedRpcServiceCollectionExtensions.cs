using System;
using System.Linq;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TypedRpc;
using TypedRpc.Client;
using TypedRpc.Hosting;
using TypedRpc.Ownership;
using TypedRpc.Serialization;
using TypedRpc.Transport;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers TypedRpc with a service collection.</summary>
public static class TypedRpcServiceCollectionExtensions
{
    /// <summary>
    /// Adds the TypedRpc runtime: the client (<see cref="IRpcInvoker"/>), results by id (<see cref="IRpcResults"/>),
    /// the JSON serializer, options validated on start, the hosted service that starts servers
    /// and the client, and <see cref="IRpcReadiness"/>, which says when that start-up is complete. Calling it again returns a builder over the same registrations.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>A builder for contracts, servers, the transport and the store.</returns>
    public static ITypedRpcBuilder AddTypedRpc(this IServiceCollection services) => services.AddTypedRpc(configure: null);

    /// <summary>
    /// Adds the TypedRpc runtime as <see cref="AddTypedRpc(IServiceCollection)"/> does, with its
    /// options configured in code.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options, or <see langword="null"/>.</param>
    /// <returns>A builder for contracts, servers, the transport and the store.</returns>
    public static ITypedRpcBuilder AddTypedRpc(this IServiceCollection services, Action<TypedRpcOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var optionsBuilder = services.AddOptions<TypedRpcOptions>();
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(TypedRpcMarker)))
        {
            return new TypedRpcBuilder(services);
        }

        services.AddSingleton<TypedRpcMarker>();
        optionsBuilder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TypedRpcOptions>, TypedRpcOptionsValidator>());
        services.TryAddSingleton<IRpcSerializer>(static _ => CreateDefaultSerializer());
        services.TryAddSingleton(static sp => new RpcClient(
            sp.GetService<IRpcTransport>() ?? throw MissingTransport(),
            sp.GetRequiredService<IRpcSerializer>(),
            sp.GetRequiredService<IOptions<TypedRpcOptions>>().Value,
            sp.GetService<IRpcOwnershipStore>(),
            sp.GetService<IRpcClaimStore>(),
            sp.GetService<IUnmatchedReplyHandler>(),
            sp.GetService<ILogger<RpcClient>>()) { NeedsHost = true });
        services.TryAddSingleton<IRpcInvoker>(static sp => sp.GetRequiredService<RpcClient>());
        services.TryAddSingleton(static sp => new RpcResults(
            sp.GetService<IRpcOwnershipStore>(),
            sp.GetRequiredService<IRpcSerializer>(),
            sp.GetRequiredService<IOptions<TypedRpcOptions>>().Value,
            sp.GetRequiredService<RpcClient>(),
            sp.GetService<IRpcClaimStore>()));
        services.TryAddSingleton<IRpcResults>(static sp => sp.GetRequiredService<RpcResults>());
        services.TryAddSingleton<RpcReadiness>();
        services.TryAddSingleton<IRpcReadiness>(static sp => sp.GetRequiredService<RpcReadiness>());
        services.TryAddSingleton<TypedRpcRuntime>();
        services.AddHostedService(static sp => sp.GetRequiredService<TypedRpcRuntime>());
        return new TypedRpcBuilder(services);
    }

    /// <summary>
    /// Adds the TypedRpc runtime with its options bound from configuration — pass the <c>TypedRpc</c>
    /// section (for example <c>builder.Configuration.GetSection("TypedRpc")</c>); <paramref name="configure"/>
    /// runs after binding. Values are validated on start with messages naming the setting.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The <c>TypedRpc</c> configuration section.</param>
    /// <param name="configure">Further configuration, or <see langword="null"/>.</param>
    /// <returns>A builder for contracts, servers, the transport and the store.</returns>
    public static ITypedRpcBuilder AddTypedRpc(this IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration configuration, Action<TypedRpcOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<TypedRpcOptions>().Bind(configuration);
        return services.AddTypedRpc(configure);
    }

    /// <summary>
    /// The reflection-based JSON serializer, where the application allows reflection-based JSON
    /// (it does not when published with trimming or Native AOT: then UseJsonContext is needed).
    /// </summary>
    private static IRpcSerializer CreateDefaultSerializer()
    {
        // IsReflectionEnabledByDefault is a feature switch: a trimmed or AOT publish removes the
        // branch and with it the reflection-based serializer, so the application gets no warning.
        if (System.Text.Json.JsonSerializer.IsReflectionEnabledByDefault)
        {
#pragma warning disable IL2026, IL3050 // Guarded by the feature switch above.
            return new JsonRpcSerializer();
#pragma warning restore IL2026, IL3050
        }

        throw new InvalidOperationException(
            "TypedRpc has no JSON metadata for the contracts' types: reflection-based JSON is disabled (the application is trimmed or published with Native AOT). " +
            "Declare a JsonSerializerContext with [JsonSerializable(typeof(...))] for each parameter, reply and stream-item type, and register it with .UseJsonContext(MyJsonContext.Default) on the builder AddTypedRpc() returns.");
    }

    internal static InvalidOperationException MissingTransport() =>
        new("TypedRpc has no transport: call .UseInMemoryTransport() (tests) or .AddKafka(...) on the builder returned by AddTypedRpc().");

    /// <summary>Marks that AddTypedRpc ran, so a second call does not register twice.</summary>
    private sealed class TypedRpcMarker;
}
