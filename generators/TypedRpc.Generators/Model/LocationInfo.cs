using Microsoft.CodeAnalysis;

namespace TypedRpc.Generators.Model;

/// <summary>
/// Where a diagnostic is reported. It keeps the real <see cref="Location"/> (with its syntax tree):
/// a location rebuilt from a file path is an external location, which the compiler does not match
/// against <c>#pragma warning</c> directives — so users could not suppress our diagnostics.
/// Locations live only in the diagnostics half of a parse result, never in a
/// <see cref="ContractModel"/>: the emit branch stays cached when only positions move.
/// Equality is the location's own (same tree, same span), so an unchanged file compares equal.
/// </summary>
internal sealed record LocationInfo(Location Location)
{
    public string FilePath => Location.SourceTree?.FilePath ?? string.Empty;

    public int Start => Location.SourceSpan.Start;

    public Location ToLocation() => Location;

    public static LocationInfo? From(Location? location) =>
        location is null || location.SourceTree is null ? null : new LocationInfo(location);

    public static LocationInfo? From(SyntaxNode? node) => node is null ? null : From(node.GetLocation());
}
