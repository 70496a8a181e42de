namespace TypedRpc.Generators.Model;

/// <summary>One method of a contract.</summary>
/// <param name="Name">The C# method name.</param>
/// <param name="WireName">The stable wire id: the name without its <c>Async</c> suffix.</param>
/// <param name="ReturnType">The fully qualified declared return type.</param>
/// <param name="Kind">The return shape.</param>
/// <param name="ResultType">The fully qualified reply (or stream item) type; <c>null</c> for Task/ValueTask.</param>
/// <param name="ResultTypeOf">The reply type as written in <c>typeof(…)</c> (no nullable reference annotation).</param>
/// <param name="TimeoutMs">The <c>[RpcTimeout]</c> timeout, or 0.</param>
/// <param name="ExtendByMs">The <c>[RpcTimeout]</c> extension, or 0.</param>
/// <param name="Parameters">All parameters, in declaration order.</param>
internal sealed record MethodModel(
    string Name,
    string WireName,
    string ReturnType,
    ReturnKind Kind,
    string? ResultType,
    string? ResultTypeOf,
    int TimeoutMs,
    int ExtendByMs,
    EquatableArray<ParameterModel> Parameters);
