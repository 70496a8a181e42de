using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Hosting;
using TypedRpc.InMemory;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// Instances of a TypedRpc deployment in one process: each is its own service provider (as a
/// separate process would be), all sharing one in-memory transport ("the broker") and one
/// in-memory store ("Redis").
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly List<TestInstance> _instances = new();

    public InMemoryRpcTransport Transport { get; } = new();

    public InMemoryOwnershipStore Store { get; } = new();

    public TestState State { get; } = new();

    public async Task<TestInstance> StartAsync(bool client = true, bool server = true, Action<TypedRpcOptions>? configure = null, bool useStore = true, IUnmatchedReplyHandler? unmatched = null, Action<IServiceCollection>? decorate = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(State);
        if (unmatched is not null)
        {
            services.AddSingleton(unmatched);
        }
        var builder = services.AddTypedRpc(o =>
        {
            o.InstanceId = "instance-" + (_instances.Count + 1);
            configure?.Invoke(o);
        }).UseInMemoryTransport(Transport);
        if (useStore)
        {
            builder.UseInMemoryOwnershipStore(Store);
        }
        else
        {
            services.Configure<TypedRpcOptions>(o => { o.EnableClaims = false; o.EnableOwnership = false; });
        }

        if (client)
        {
            builder.AddClient<ITestService>().AddClient<Generated.IShapes>();
        }

        if (server)
        {
            builder.AddServer<TestService>().AddServer<Generated.ShapesService>();
        }

        decorate?.Invoke(services);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        var instance = new TestInstance(provider, runtime);
        _instances.Add(instance);
        return instance;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await Transport.DisposeAsync();
    }
}

public sealed class TestInstance(ServiceProvider provider, TypedRpcRuntime runtime) : IAsyncDisposable
{
    private bool _disposed;

    public IServiceProvider Services => provider;

    public ITestService Client => provider.GetRequiredService<ITestService>();

    public Generated.IShapes Shapes => provider.GetRequiredService<Generated.IShapes>();

    public RpcClient RpcClient => provider.GetRequiredService<RpcClient>();

    public IRpcResults Results => provider.GetRequiredService<IRpcResults>();

    public Task StopAsync() => runtime.StopAsync(CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await runtime.StopAsync(CancellationToken.None);
        await provider.DisposeAsync();
    }
}
