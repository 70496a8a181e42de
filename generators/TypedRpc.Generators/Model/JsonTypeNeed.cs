namespace TypedRpc.Generators.Model;

/// <summary>A type a registered contract sends, and where: what a JSON context must cover.</summary>
/// <param name="Key">The type's key (see <see cref="Parsing.JsonTypeKeys"/>).</param>
/// <param name="UnderlyingKey">For <c>Nullable&lt;T&gt;</c>, the key of <c>T</c>; else <c>null</c>.</param>
/// <param name="DisplayName">The type as C# writes it in <c>typeof(…)</c>, for the message.</param>
/// <param name="Use">Where the contract uses it: <c>the reply of pricing/GetQuote</c>.</param>
internal sealed record JsonTypeNeed(string Key, string? UnderlyingKey, string DisplayName, string Use);
