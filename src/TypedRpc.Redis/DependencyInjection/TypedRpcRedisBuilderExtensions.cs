using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TypedRpc.Ownership;
using TypedRpc.Redis;

namespace TypedRpc;

/// <summary>The Redis ownership store for <see cref="ITypedRpcBuilder"/>.</summary>
public static class TypedRpcRedisBuilderExtensions
{
    /// <summary>
    /// Uses Redis as the ownership store: replaces any <see cref="IRpcOwnershipStore"/> and
    /// <see cref="IRpcClaimStore"/> registered before with one <see cref="RedisOwnershipStore"/> per
    /// container (registered under both, and as itself), created when first resolved;
    /// its connection multiplexer is made on the store's first operation and closed when the
    /// container is disposed (asynchronously: the store is <see cref="IAsyncDisposable"/> only).
    /// The options are validated on start, each problem naming the setting
    /// (<c>TypedRpc:Redis:…</c>); <c>TypedRpc:Redis:OperationTimeout</c> (one Redis command) must
    /// not be longer than <c>TypedRpc:StoreOperationTimeout</c> (one store operation, as the engine
    /// waits for it).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets <see cref="RedisOwnershipStoreOptions.Configuration"/> (or a multiplexer factory) and the rest.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is null.</exception>
    public static ITypedRpcBuilder AddRedis(this ITypedRpcBuilder builder, Action<RedisOwnershipStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<RedisOwnershipStoreOptions>().Configure(configure)
            .Validate<IOptions<TypedRpcOptions>>(
                static (redis, engine) => redis.OperationTimeout <= engine.Value.StoreOperationTimeout,
                $"{RedisOwnershipStoreOptions.SectionName}:{nameof(RedisOwnershipStoreOptions.OperationTimeout)} must not be longer than "
                + $"{TypedRpcOptions.SectionName}:{nameof(TypedRpcOptions.StoreOperationTimeout)}: the engine would give up on a Redis operation "
                + "that may still take effect (a claim, an owner record) while the store still waits for it.")
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisOwnershipStoreOptions>, RedisOwnershipStoreOptionsValidator>());
        services.RemoveAll<IRpcOwnershipStore>();
        services.RemoveAll<IRpcClaimStore>();
        services.RemoveAll<RedisOwnershipStore>();
        services.AddSingleton(static sp => new RedisOwnershipStore(
            sp.GetRequiredService<IOptions<RedisOwnershipStoreOptions>>().Value,
            sp.GetService<ILogger<RedisOwnershipStore>>()));
        services.AddSingleton<IRpcOwnershipStore>(static sp => sp.GetRequiredService<RedisOwnershipStore>());
        services.AddSingleton<IRpcClaimStore>(static sp => sp.GetRequiredService<RedisOwnershipStore>());
        return builder;
    }

    /// <summary>
    /// Uses Redis as the ownership store, with its settings bound from configuration — pass the
    /// <c>TypedRpc:Redis</c> section; <paramref name="configure"/> runs after binding.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The <c>TypedRpc:Redis</c> configuration section.</param>
    /// <param name="configure">Further configuration, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder AddRedis(this ITypedRpcBuilder builder, Microsoft.Extensions.Configuration.IConfiguration configuration, Action<RedisOwnershipStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<RedisOwnershipStoreOptions>().Bind(configuration);
        return builder.AddRedis(configure ?? (static _ => { }));
    }
}
