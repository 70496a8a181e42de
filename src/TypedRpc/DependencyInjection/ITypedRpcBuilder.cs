using Microsoft.Extensions.DependencyInjection;

namespace TypedRpc;

/// <summary>Configures TypedRpc: contracts to call, servers to run, the transport and the ownership store.</summary>
public interface ITypedRpcBuilder
{
    /// <summary>The service collection being configured.</summary>
    IServiceCollection Services { get; }
}
