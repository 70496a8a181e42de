using Microsoft.CodeAnalysis;

namespace TypedRpc.Generators.Parsing;

/// <summary>How types are written into generated code: always <c>global::</c>-qualified.</summary>
internal static class TypeNames
{
    /// <summary>Fully qualified, keywords for special types, nullable reference annotations kept.</summary>
    public static readonly SymbolDisplayFormat Annotated = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>Fully qualified without nullable reference annotations, as <c>typeof(…)</c> requires.</summary>
    public static readonly SymbolDisplayFormat Plain = SymbolDisplayFormat.FullyQualifiedFormat;

    public static string ToAnnotated(this ITypeSymbol type) => type.ToDisplayString(Annotated);

    public static string ToTypeOf(this ITypeSymbol type) =>
        type.TypeKind == TypeKind.Dynamic ? "object" : type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(Plain);
}
