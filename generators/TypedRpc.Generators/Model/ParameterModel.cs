namespace TypedRpc.Generators.Model;

/// <summary>One parameter of a contract method.</summary>
/// <param name="Name">The C# name without '@' (also the JSON property name).</param>
/// <param name="Type">The fully qualified type, with nullable annotations.</param>
/// <param name="Role">What the parameter is for.</param>
/// <param name="IsOptional">Whether the argument may be absent from a request (nullable, or has a default value).</param>
/// <param name="RejectsNull">Whether a JSON <c>null</c> is refused (a non-nullable reference type).</param>
/// <param name="DefaultValue">The C# expression of the explicit default value, or <c>null</c> when there is none.</param>
/// <param name="Key">How the parameter forms the record key, when it is the <c>[RpcKey]</c>.</param>
/// <param name="TypeOf">The type as written in <c>typeof(…)</c> (no nullable reference annotation).</param>
internal sealed record ParameterModel(
    string Name,
    string Type,
    ParameterRole Role,
    bool IsOptional,
    bool RejectsNull,
    string? DefaultValue,
    KeyFormat Key,
    string TypeOf);
