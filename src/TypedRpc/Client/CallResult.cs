using System;
using System.Threading;
using TypedRpc.Serialization;
using TypedRpc.Transport;

namespace TypedRpc.Client;

/// <summary>How a unary call ended, and what that becomes for its caller: a value, an <see cref="RpcResult{T}"/>, or an exception.</summary>
/// <param name="Id">The call's correlation id.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="CancelledBy">The token that cancelled it, if one did.</param>
internal readonly record struct CallResult(CorrelationId Id, CallOutcome Outcome, CancellationToken CancelledBy)
{
    /// <summary>How <paramref name="call"/> ended (it has).</summary>
    public static CallResult Of(UnaryCall call) => new(call.Id, call.Outcome, call.CancelledBy);

    /// <summary>The reply's value decoded as <typeparamref name="TResult"/>, or the failure thrown.</summary>
    public TResult DecodeValue<TResult>(RpcMethodDescriptor method, IRpcSerializer serializer)
    {
        var reply = Unwrap(method);
        return PayloadCodec.DecodeValue<TResult>(reply.Payload, serializer, reply.Id);
    }

    /// <summary>
    /// The outcome as an <see cref="RpcResult{T}"/>: a timeout is Pending with the id, a failure is
    /// Failed; only a cancellation is thrown (as the .NET convention has it).
    /// </summary>
    /// <param name="serializer">Decodes the value.</param>
    /// <param name="call">The call, when in hand (not after a slow-path join): a Pending result then formats its id only when read.</param>
    public RpcResult<TResult> ToResult<TResult>(IRpcSerializer serializer, PendingCall? call = null)
    {
        if (Outcome.State == CallState.TimedOut)
        {
            // Nothing is allocated per deadline that the caller's task would keep alive.
            return call is null ? RpcResult<TResult>.Pending(Id.ToString()) : RpcResult<TResult>.PendingFor(call);
        }

        var id = Id.ToString();
        switch (Outcome.State)
        {
            case CallState.Cancelled:
                throw new OperationCanceledException("The call was cancelled by the caller.", CancelledBy);
            case CallState.Completed when Outcome.Status.StatusCode == RpcStatusCode.OK:
                try
                {
                    return RpcResult<TResult>.Completed(PayloadCodec.DecodeValue<TResult>(Outcome.Reply!.Payload, serializer, Id), id);
                }
                catch (RpcException ex)
                {
                    return RpcResult<TResult>.Failed(ex.Status, id);
                }

            default:
                return RpcResult<TResult>.Failed(Outcome.Status, id);
        }
    }

    /// <summary>The reply of a call that completed OK; anything else thrown (the status, or the cancellation).</summary>
    public RpcReply Unwrap(RpcMethodDescriptor method)
    {
        switch (Outcome.State)
        {
            case CallState.Completed when Outcome.Status.StatusCode == RpcStatusCode.OK:
                var reply = Outcome.Reply!;
                if (method.Kind == RpcMethodKind.Unary && !reply.HasValue)
                {
                    throw new RpcException(new RpcStatus(RpcStatusCode.DataLoss, "The reply carries no value."), Id.ToString());
                }

                return reply;
            case CallState.Cancelled:
                throw new OperationCanceledException("The call was cancelled by the caller.", CancelledBy);
            default:
                throw new RpcException(Outcome.Status, Id.ToString());
        }
    }
}
