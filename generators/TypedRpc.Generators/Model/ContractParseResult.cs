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

/// <summary>A contract's service name and where it is declared.</summary>
internal sealed record ServiceNameEntry(string ServiceName, string InterfaceType, LocationInfo? Location);
