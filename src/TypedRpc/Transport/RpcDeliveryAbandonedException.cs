using System;

namespace TypedRpc.Transport;

/// <summary>
/// Thrown by a <see cref="RpcRequestHandler"/> that leaves a delivery unacknowledged on purpose:
/// the engine is stopping and the request is for another member of the group (a redelivery waiting
/// for a claim held elsewhere, or a handler cut off by shutdown). A transport neither retries nor
/// dead-letters the delivery and does not report it as a failure; it leaves it uncommitted.
/// </summary>
public sealed class RpcDeliveryAbandonedException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    public RpcDeliveryAbandonedException()
        : base("The server is stopping; the request is left for another member of the group.")
    {
    }

    /// <summary>Creates the exception with the cancellation that cut the handler off.</summary>
    /// <param name="innerException">The cancellation.</param>
    public RpcDeliveryAbandonedException(Exception? innerException)
        : base("The server is stopping; the request is left for another member of the group.", innerException)
    {
    }
}
