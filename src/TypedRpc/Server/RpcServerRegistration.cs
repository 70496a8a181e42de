using System;

namespace TypedRpc.Server;

/// <summary>A server class registered with <c>AddServer&lt;TImpl&gt;()</c>: its contract and how to make it per request.</summary>
/// <param name="Descriptor">The contract it implements.</param>
/// <param name="ImplementationType">The server class.</param>
/// <param name="Resolve">Resolves the instance from a request's scope, when the application registered the class itself.</param>
/// <param name="Create">Creates an instance with its constructor's parameters from a request's scope; the host disposes it.</param>
/// <param name="Validate">Throws, at start, when <paramref name="Create"/> could not resolve a constructor parameter.</param>
/// <param name="CreateNeedsServices">Whether <paramref name="Create"/> resolves anything: false for a class whose only constructor takes nothing, which needs no scope.</param>
internal sealed record RpcServerRegistration(
    RpcServiceDescriptor Descriptor,
    Type ImplementationType,
    Func<IServiceProvider, IRpcServiceBinding> Resolve,
    Func<IServiceProvider, IRpcServiceBinding> Create,
    Action<IServiceProvider> Validate,
    bool CreateNeedsServices = true);
