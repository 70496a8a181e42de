using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace TypedRpc.Generators.Model;

/// <summary>
/// A location as plain values: a <see cref="Location"/> holds its syntax tree, which must not be
/// kept in the pipeline (it would pin old compilations and defeat caching).
/// </summary>
internal sealed record LocationInfo(string FilePath, TextSpan TextSpan, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, TextSpan, LineSpan);

    public static LocationInfo? From(Location? location)
    {
        if (location is null || location.SourceTree is null)
        {
            return null;
        }

        return new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
    }

    public static LocationInfo? From(SyntaxNode? node) => node is null ? null : From(node.GetLocation());
}
