using System.Threading.Tasks;

namespace TypedRpc;

/// <summary>
/// Implemented by each generated server base class: connects the user's overrides to the runtime
/// without reflection.
/// </summary>
public interface IRpcServiceBinding
{
    /// <summary>The contract this service implements.</summary>
    RpcServiceDescriptor Descriptor { get; }

    /// <summary>Decodes the call's arguments, runs the override for its method and sends the reply.</summary>
    /// <param name="call">The call.</param>
    /// <returns>A task that completes when the reply has been handed to the transport.</returns>
    /// <exception cref="RpcException">The arguments are invalid (<see cref="RpcStatusCode.InvalidArgument"/>) or the method is unknown (<see cref="RpcStatusCode.NotFound"/>).</exception>
    ValueTask DispatchAsync(RpcServerCall call);
}
