namespace TypedRpc;

/// <summary>How a method's reply is shaped.</summary>
public enum RpcMethodKind
{
    /// <summary>One reply carrying a value (<c>Task&lt;T&gt;</c>, <c>ValueTask&lt;T&gt;</c>, <c>Task&lt;RpcResult&lt;T&gt;&gt;</c>).</summary>
    Unary = 0,

    /// <summary>One reply carrying no value, an acknowledgement (<c>Task</c>, <c>ValueTask</c>).</summary>
    NoResult = 1,

    /// <summary>Several reply messages followed by an end-of-stream message (<c>IAsyncEnumerable&lt;T&gt;</c>).</summary>
    ServerStreaming = 2,
}
