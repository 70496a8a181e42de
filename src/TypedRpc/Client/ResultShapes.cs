namespace TypedRpc.Client;

/// <summary>Makes the call object for one result shape; it is also what the caller awaits.</summary>
internal delegate UnaryCall<TOut> UnaryCallFactory<TOut>(ICallTable table, CorrelationId id, RpcMethodDescriptor method, long deadlineMs);

/// <summary>
/// The shapes a unary call's result takes for its caller, each a subclass of
/// <see cref="UnaryCall{TOut}"/> rather than a delegate field on one (8 bytes less per waiting call).
/// </summary>
internal static class ResultShapes<TResult>
{
    /// <summary>Decoded into the method's result, or thrown as an <see cref="RpcException"/>.</summary>
    public static readonly UnaryCallFactory<TResult> Value = static (table, id, method, deadlineMs) => new ValueCall(table, id, method, deadlineMs);

    /// <summary>Turned into an <see cref="RpcResult{T}"/> (a timeout is Pending, not an exception).</summary>
    public static readonly UnaryCallFactory<RpcResult<TResult>> ForResult = static (table, id, method, deadlineMs) => new ForResultCall(table, id, method, deadlineMs);

    private sealed class ValueCall(ICallTable table, CorrelationId id, RpcMethodDescriptor method, long deadlineMs)
        : UnaryCall<TResult>(table, id, method, deadlineMs)
    {
        protected override TResult Produce() => CallResult.Of(this).DecodeValue<TResult>(Method!, Table.Serializer);
    }

    private sealed class ForResultCall(ICallTable table, CorrelationId id, RpcMethodDescriptor method, long deadlineMs)
        : UnaryCall<RpcResult<TResult>>(table, id, method, deadlineMs)
    {
        protected override RpcResult<TResult> Produce() => CallResult.Of(this).ToResult<TResult>(Table.Serializer, this);
    }
}

/// <summary>The shape of a method without a result: only a failure is thrown.</summary>
internal static class NoResultShape
{
    public static readonly UnaryCallFactory<byte> Create = static (table, id, method, deadlineMs) => new NoResultCall(table, id, method, deadlineMs);

    private sealed class NoResultCall(ICallTable table, CorrelationId id, RpcMethodDescriptor method, long deadlineMs)
        : UnaryCall<byte>(table, id, method, deadlineMs)
    {
        protected override byte Produce()
        {
            CallResult.Of(this).Unwrap(Method!);
            return 0;
        }
    }
}
