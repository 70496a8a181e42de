namespace TypedRpc;

/// <summary>
/// Implemented by each generated server base class so that the runtime can learn, from the type
/// alone and at compile time, which contract a server class implements:
/// <c>AddServer&lt;TImpl&gt;()</c> reads <c>TImpl.ServiceDescriptor</c> without creating an instance
/// and without reflection.
/// </summary>
public interface IRpcServiceDefinition
{
    /// <summary>The contract the server class implements.</summary>
    static abstract RpcServiceDescriptor ServiceDescriptor { get; }
}
