using System;

namespace TypedRpc;

/// <summary>A registered contract: its descriptor and how to create its generated client proxy.</summary>
/// <typeparam name="TContract">The contract interface.</typeparam>
public sealed class RpcContract<TContract>
    where TContract : class
{
    private readonly Func<IRpcInvoker, TContract> _clientFactory;

    internal RpcContract(RpcServiceDescriptor descriptor, Func<IRpcInvoker, TContract> clientFactory)
    {
        Descriptor = descriptor;
        _clientFactory = clientFactory;
    }

    /// <summary>The contract's descriptor.</summary>
    public RpcServiceDescriptor Descriptor { get; }

    /// <summary>Creates the generated client proxy over <paramref name="invoker"/>.</summary>
    /// <param name="invoker">Sends the calls.</param>
    /// <returns>The proxy.</returns>
    public TContract CreateClient(IRpcInvoker invoker)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        return _clientFactory(invoker);
    }
}
