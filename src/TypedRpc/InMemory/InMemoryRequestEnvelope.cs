using TypedRpc.Transport;

namespace TypedRpc.InMemory;

/// <summary>One queued copy of a request and how often its deliveries have failed.</summary>
/// <remarks>Guarded by the owning <see cref="InMemoryRequestGroup"/>'s lock.</remarks>
internal sealed class InMemoryRequestEnvelope(RpcRequest request)
{
    public RpcRequest Request { get; } = request;

    public int Failures { get; set; }
}
