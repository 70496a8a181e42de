using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TypedRpc.Tests.Engine;
using TypedRpc.Transport;

namespace TypedRpc.Tests.Support;

/// <summary>Builds one instance's container over a test transport, without a store, its runtime not started.</summary>
internal static class GatedHost
{
    public static ServiceProvider Build(IRpcTransport transport, Action<ITypedRpcBuilder> configure, Action<TypedRpcOptions>? options = null, Action<IServiceCollection>? decorate = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(new TestState());
        var builder = services.AddTypedRpc(o =>
        {
            o.EnableClaims = false;
            o.EnableOwnership = false;
            options?.Invoke(o);
        });
        configure(builder);
        services.RemoveAll<IRpcTransport>();
        services.AddSingleton(transport);
        decorate?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }
}
