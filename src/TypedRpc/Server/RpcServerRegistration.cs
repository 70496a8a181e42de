using System;

namespace TypedRpc.Server;

/// <summary>A server class registered with <c>AddServer&lt;TImpl&gt;()</c>: its contract and how to create it per request.</summary>
/// <param name="Descriptor">The contract it implements.</param>
/// <param name="ImplementationType">The server class.</param>
/// <param name="Factory">Resolves an instance from a request's service scope.</param>
internal sealed record RpcServerRegistration(RpcServiceDescriptor Descriptor, Type ImplementationType, Func<IServiceProvider, IRpcServiceBinding> Factory);
