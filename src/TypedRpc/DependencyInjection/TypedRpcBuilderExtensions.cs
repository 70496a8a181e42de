using System;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Serialization;
using TypedRpc.Server;
using TypedRpc.Transport;

namespace TypedRpc;

/// <summary>Contracts, servers, transports and stores for <see cref="ITypedRpcBuilder"/>.</summary>
public static class TypedRpcBuilderExtensions
{
    /// <summary>
    /// Registers the generated client proxy for <typeparamref name="TContract"/> as a singleton,
    /// found through the generated registration (no reflection).
    /// </summary>
    /// <typeparam name="TContract">An <see cref="AsyncSyncContractAttribute"/> interface.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException"><typeparamref name="TContract"/> is not a generated contract.</exception>
    public static ITypedRpcBuilder AddClient<TContract>(this ITypedRpcBuilder builder)
        where TContract : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        var contract = RpcContracts.Get<TContract>();
        builder.Services.TryAddSingleton(sp => contract.CreateClient(sp.GetRequiredService<IRpcInvoker>()));
        builder.Services.AddSingleton(new ClientRegistration(contract.Descriptor));
        return builder;
    }

    /// <summary>
    /// Serves <typeparamref name="TImpl"/>'s contract on this instance. <typeparamref name="TImpl"/>
    /// derives from the generated server base; per request, a new service scope is made and an
    /// instance is created with its constructor's parameters resolved from that scope, and disposed
    /// after the request (as gRPC does). Register <typeparamref name="TImpl"/> yourself, before or
    /// after this call, to choose its lifetime: it is then resolved from the request's scope instead.
    /// </summary>
    /// <typeparam name="TImpl">The server class.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another server class already serves the same contract.</exception>
    public static ITypedRpcBuilder AddServer<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TImpl>(this ITypedRpcBuilder builder)
        where TImpl : class, IRpcServiceBinding, IRpcServiceDefinition
    {
        ArgumentNullException.ThrowIfNull(builder);
        var descriptor = TImpl.ServiceDescriptor;
        foreach (var service in builder.Services)
        {
            if (service.ServiceType == typeof(RpcServerRegistration) && service.ImplementationInstance is RpcServerRegistration existing
                && ReferenceEquals(existing.Descriptor, descriptor))
            {
                if (existing.ImplementationType == typeof(TImpl))
                {
                    return builder;
                }

                throw new InvalidOperationException(
                    $"Service '{descriptor.ServiceName}' is already served by {existing.ImplementationType}; {typeof(TImpl)} cannot serve it too.");
            }
        }

        // Not registered as a scoped service: the scope would then keep a dictionary of its
        // resolved services for every request (~240 bytes a call in the overhead benchmark).
        var create = ActivatorUtilities.CreateFactory<TImpl>(Type.EmptyTypes);
        builder.Services.AddSingleton(new RpcServerRegistration(
            descriptor,
            typeof(TImpl),
            static sp => sp.GetRequiredService<TImpl>(),
            sp => create(sp, null),
            static sp => ServerActivation.ThrowIfUnresolvable(typeof(TImpl), sp),
            CreateNeedsServices: ServerActivation.NeedsServices(typeof(TImpl))));
        return builder;
    }

    /// <summary>
    /// Uses an in-memory transport: every TypedRpc instance given the same <paramref name="transport"/>
    /// object talks to the others, as if through one broker. For tests.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="transport">The shared transport, or <see langword="null"/> for a new one private to this container.</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder UseInMemoryTransport(this ITypedRpcBuilder builder, InMemoryRpcTransport? transport = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<IRpcTransport>();
        if (transport is null)
        {
            builder.Services.AddSingleton<IRpcTransport, InMemoryRpcTransport>();
        }
        else
        {
            builder.Services.AddSingleton<IRpcTransport>(transport);
        }

        return builder;
    }

    /// <summary>
    /// Uses an in-memory ownership store, shared by every instance given the same <paramref name="store"/>,
    /// registered as both <see cref="IRpcOwnershipStore"/> and <see cref="IRpcClaimStore"/> (one instance). For tests.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="store">The shared store, or <see langword="null"/> for a new one private to this container.</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder UseInMemoryOwnershipStore(this ITypedRpcBuilder builder, InMemoryOwnershipStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.RemoveAll<IRpcOwnershipStore>();
        services.RemoveAll<IRpcClaimStore>();
        services.RemoveAll<InMemoryOwnershipStore>();
        if (store is null)
        {
            services.AddSingleton(static _ => new InMemoryOwnershipStore());
        }
        else
        {
            services.AddSingleton(store);
        }

        services.AddSingleton<IRpcOwnershipStore>(static sp => sp.GetRequiredService<InMemoryOwnershipStore>());
        services.AddSingleton<IRpcClaimStore>(static sp => sp.GetRequiredService<InMemoryOwnershipStore>());

        return builder;
    }

    /// <summary>
    /// Serializes contract payloads with System.Text.Json source generation, from <paramref name="context"/>
    /// (a <c>partial</c> class deriving from <see cref="JsonSerializerContext"/> with a
    /// <c>[JsonSerializable(typeof(…))]</c> for each parameter, reply and stream-item type the contracts
    /// use; common primitives need none): no reflection, as trimming and Native AOT require. The JSON
    /// is the same as the reflection-based default's (see <see cref="JsonRpcSerializer.FromContexts"/>).
    /// Call it again to add further contexts. At start-up every type of every contract registered with
    /// <c>AddClient</c> or <c>AddServer</c> is checked, and a missing one fails the start naming it.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="context">The context, usually its generated <c>Default</c> instance.</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder UseJsonContext(this ITypedRpcBuilder builder, JsonSerializerContext context)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(context);
        var services = builder.Services;
        services.AddSingleton(new JsonContextRegistration(context));
        if (!services.Any(d => d.ServiceType == typeof(JsonContextSerializerMarker)))
        {
            services.AddSingleton<JsonContextSerializerMarker>();
            services.RemoveAll<IRpcSerializer>();
            services.AddSingleton<IRpcSerializer>(static sp =>
                JsonRpcSerializer.FromContexts(sp.GetServices<JsonContextRegistration>().Select(r => r.Context)));
        }

        return builder;
    }

    /// <summary>Registers the handler that receives replies no waiter accepted.</summary>
    /// <typeparam name="THandler">The handler.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder AddUnmatchedReplyHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this ITypedRpcBuilder builder)
        where THandler : class, IUnmatchedReplyHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<IUnmatchedReplyHandler>();
        builder.Services.AddSingleton<IUnmatchedReplyHandler, THandler>();
        return builder;
    }
}

/// <summary>A JSON context registered with <c>UseJsonContext</c>.</summary>
/// <param name="Context">The context.</param>
internal sealed record JsonContextRegistration(JsonSerializerContext Context);

/// <summary>Marks that <c>UseJsonContext</c> registered the serializer over the contexts.</summary>
internal sealed class JsonContextSerializerMarker;

/// <summary>A contract registered with <c>AddClient</c>; its presence makes the host start the client eagerly.</summary>
/// <param name="Descriptor">The contract.</param>
internal sealed record ClientRegistration(RpcServiceDescriptor Descriptor);
