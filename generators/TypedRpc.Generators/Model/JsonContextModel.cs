namespace TypedRpc.Generators.Model;

/// <summary>
/// One <c>UseJsonContext(context)</c> call: the context's name and every type it may have metadata
/// for, as type keys (see <see cref="Parsing.JsonTypeKeys"/>). A context whose class cannot be
/// determined has a <c>null</c> <see cref="ContextName"/>: its coverage is unknown, so nothing is
/// reported for the compilation.
/// </summary>
/// <param name="ContextName">The context class as users write it, or <c>null</c> when unknown.</param>
/// <param name="CoveredTypes">The keys of the types the context covers, sorted.</param>
/// <param name="Location">The call, from the method name on: where a missing type is reported.</param>
internal sealed record JsonContextModel(string? ContextName, EquatableArray<string> CoveredTypes, LocationInfo? Location);
