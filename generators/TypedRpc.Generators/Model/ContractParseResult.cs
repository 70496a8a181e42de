namespace TypedRpc.Generators.Model;

/// <summary>
/// The output of parsing one <c>[AsyncSyncContract]</c> declaration: the model (when the contract
/// is valid enough to emit), the diagnostics, and the service name with its location for the
/// cross-contract uniqueness check. Locations live here and not in the model, so moving a contract
/// in its file re-reports diagnostics without re-emitting source.
/// </summary>
internal sealed record ContractParseResult(
    ContractModel? Model,
    EquatableArray<DiagnosticInfo> Diagnostics,
    ServiceNameEntry? ServiceName);

/// <summary>What must be unique across contracts: the service name, the request topic and the generated type names.</summary>
/// <param name="ServiceName">The service name.</param>
/// <param name="DisplayName">The interface as users write it, for messages.</param>
/// <param name="Topic">The request topic (the explicit one, else <c>{service}.requests</c>).</param>
/// <param name="GeneratedName">The namespace-qualified stem of the generated types (<c>N.PricingService</c>).</param>
/// <param name="Location">The attribute.</param>
internal sealed record ServiceNameEntry(string ServiceName, string DisplayName, string Topic, string GeneratedName, LocationInfo? Location);
