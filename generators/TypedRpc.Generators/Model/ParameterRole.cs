namespace TypedRpc.Generators.Model;

/// <summary>What a contract method's parameter is for.</summary>
internal enum ParameterRole
{
    /// <summary>An argument sent to the server.</summary>
    Data,

    /// <summary>The optional trailing <c>CancellationToken</c>; stays on the caller.</summary>
    CancellationToken,

    /// <summary>The optional <c>RpcCallOptions</c>; stays on the caller.</summary>
    CallOptions,
}
