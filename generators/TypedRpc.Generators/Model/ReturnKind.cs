namespace TypedRpc.Generators.Model;

/// <summary>The supported method return shapes.</summary>
internal enum ReturnKind
{
    Task,
    TaskOfT,
    ValueTask,
    ValueTaskOfT,
    TaskOfRpcResult,
    ValueTaskOfRpcResult,
    AsyncEnumerable,
}
