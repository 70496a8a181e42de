namespace TypedRpc.Generators;

/// <summary>Names of the incremental steps, for <c>WithTrackingName</c> and the cache tests.</summary>
internal static class TrackingNames
{
    /// <summary>Each <c>[AsyncSyncContract]</c> declaration parsed into a model plus diagnostics.</summary>
    public const string ParseResults = nameof(ParseResults);

    /// <summary>The models of the contracts that can be emitted.</summary>
    public const string Models = nameof(Models);

    /// <summary>The per-contract diagnostics.</summary>
    public const string Diagnostics = nameof(Diagnostics);

    /// <summary>Every contract's service name, collected for the uniqueness check.</summary>
    public const string ServiceNames = nameof(ServiceNames);

    /// <summary>The service-name clashes found across the compilation.</summary>
    public const string DuplicateServiceNames = nameof(DuplicateServiceNames);

    /// <summary>Each <c>UseJsonContext(context)</c> call: the context and the types it covers.</summary>
    public const string JsonContexts = nameof(JsonContexts);

    /// <summary>Each <c>AddClient&lt;T&gt;()</c> / <c>AddServer&lt;T&gt;()</c> call: the types its contract sends.</summary>
    public const string RegisteredContractTypes = nameof(RegisteredContractTypes);

    /// <summary>The contract types no JSON context covers (TRPC0022).</summary>
    public const string MissingJsonTypes = nameof(MissingJsonTypes);
}
