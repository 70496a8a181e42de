using Microsoft.Extensions.DependencyInjection;

namespace TypedRpc;

internal sealed class TypedRpcBuilder(IServiceCollection services) : ITypedRpcBuilder
{
    public IServiceCollection Services { get; } = services;
}
