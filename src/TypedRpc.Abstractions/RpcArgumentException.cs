using System;

namespace TypedRpc;

/// <summary>
/// A request's arguments could not be read (<see cref="RpcStatusCode.InvalidArgument"/>): the
/// caller sent something the contract does not allow. Told apart from a status a handler chose,
/// so that the server logs it as a problem (the caller has a bug, or speaks another version).
/// </summary>
internal sealed class RpcArgumentException : RpcException
{
    public RpcArgumentException(string detail)
        : base(RpcStatusCode.InvalidArgument, detail)
    {
    }

    public RpcArgumentException(RpcStatus status, string? correlationId, Exception? innerException = null)
        : base(status, correlationId, innerException)
    {
    }
}
