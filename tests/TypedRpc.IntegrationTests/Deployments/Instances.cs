using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Hosting;
using TypedRpc.Ownership;
using TypedRpc.Redis;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// The instances of one deployment, whatever its transport: each its own service provider and its
/// own Redis connection (as a separate process would have), running the integration contract.
/// </summary>
public sealed class Instances(Func<RedisOwnershipStore> storeFactory, IntegrationState state) : IAsyncDisposable
{
    private readonly List<(ServiceProvider Provider, TypedRpcRuntime Runtime)> _running = new();
    private readonly List<RedisOwnershipStore> _stores = new();

    /// <summary>Starts an instance whose transport <paramref name="transport"/> registers.</summary>
    public async Task<IServiceProvider> StartAsync(string instanceId, bool client, bool server, IUnmatchedReplyHandler? unmatched,
        Action<TypedRpcOptions>? configure, Action<ITypedRpcBuilder> transport)
    {
        var services = new ServiceCollection();
        services.AddSingleton(state);
        if (unmatched is not null)
        {
            services.AddSingleton(unmatched);
        }

        var builder = services.AddTypedRpc(o =>
        {
            o.InstanceId = instanceId;
            configure?.Invoke(o);
        });
        transport(builder);
        var store = storeFactory();
        lock (_stores)
        {
            _stores.Add(store);
        }

        services.AddSingleton(store);
        services.AddSingleton<IRpcOwnershipStore>(store);
        services.AddSingleton<IRpcClaimStore>(store);
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
        lock (_running)
        {
            _running.Add((provider, runtime));
        }

        return provider;
    }

    /// <summary>Stops an instance gracefully (drain, release, close).</summary>
    public async Task StopAsync(IServiceProvider instance)
    {
        (ServiceProvider Provider, TypedRpcRuntime Runtime) found;
        lock (_running)
        {
            var index = _running.FindIndex(i => ReferenceEquals(i.Provider, instance));
            found = _running[index];
            _running.RemoveAt(index);
        }

        await found.Runtime.StopAsync(CancellationToken.None);
        await found.Provider.DisposeAsync();
    }

    /// <summary>Forgets an instance without stopping it (its transport was killed as a crash would).</summary>
    public void Forget(IServiceProvider instance)
    {
        lock (_running)
        {
            _running.RemoveAll(i => ReferenceEquals(i.Provider, instance));
        }
    }

    /// <summary>Stops every instance still running and closes every store.</summary>
    public async ValueTask DisposeAsync()
    {
        (ServiceProvider Provider, TypedRpcRuntime Runtime)[] running;
        lock (_running)
        {
            running = _running.ToArray();
            _running.Clear();
        }

        foreach (var (provider, runtime) in running)
        {
            await runtime.StopAsync(CancellationToken.None);
            await provider.DisposeAsync();
        }

        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }
}
