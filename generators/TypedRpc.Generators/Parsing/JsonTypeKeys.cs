using Microsoft.CodeAnalysis;

namespace TypedRpc.Generators.Parsing;

/// <summary>
/// How the JSON-context check names types. A key identifies a type whatever way it was written:
/// fully qualified, no nullable reference annotations, tuples as their <c>ValueTuple</c> (element
/// names do not change the type System.Text.Json sees).
/// </summary>
internal static class JsonTypeKeys
{
    private static readonly SymbolDisplayFormat KeyFormat = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.ExpandValueTuple);

    /// <summary>C# as users write it in <c>typeof(…)</c>: namespace-qualified, keywords, no <c>?</c> on reference types.</summary>
    private static readonly SymbolDisplayFormat DisplayFormat = SymbolDisplayFormat.CSharpErrorMessageFormat
        .RemoveMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    public static string Key(ITypeSymbol type) => type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(KeyFormat);

    public static string Display(ITypeSymbol type) => type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(DisplayFormat);

    /// <summary>
    /// Whether a key can say anything about the type: not when it is, or holds, an unresolved type
    /// (the compiler reports it), a type parameter, <c>dynamic</c> or a pointer.
    /// </summary>
    public static bool IsCheckable(ITypeSymbol type, int depth = 0)
    {
        if (depth > 16)
        {
            return false;
        }

        switch (type.TypeKind)
        {
            case TypeKind.Error:
            case TypeKind.TypeParameter:
            case TypeKind.Dynamic:
            case TypeKind.Pointer:
            case TypeKind.FunctionPointer:
                return false;
            case TypeKind.Array:
                return IsCheckable(((IArrayTypeSymbol)type).ElementType, depth + 1);
        }

        if (type is INamedTypeSymbol named)
        {
            for (var current = named; current is not null; current = current.ContainingType)
            {
                foreach (var argument in current.TypeArguments)
                {
                    if (!IsCheckable(argument, depth + 1))
                    {
                        return false;
                    }
                }
            }
        }

        return true;
    }

    /// <summary>The types TypedRpc's own primitives context covers (PrimitivesJsonContext in the runtime), and their nullable forms.</summary>
    public static bool IsBuiltIn(ITypeSymbol type)
    {
        if (type is IArrayTypeSymbol { Rank: 1 } array)
        {
            return array.ElementType.SpecialType is SpecialType.System_Byte or SpecialType.System_String or SpecialType.System_Int32 or SpecialType.System_Int64;
        }

        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
        {
            type = nullable.TypeArguments[0];
        }

        switch (type.SpecialType)
        {
            case SpecialType.System_Boolean:
            case SpecialType.System_Byte:
            case SpecialType.System_SByte:
            case SpecialType.System_Int16:
            case SpecialType.System_UInt16:
            case SpecialType.System_Int32:
            case SpecialType.System_UInt32:
            case SpecialType.System_Int64:
            case SpecialType.System_UInt64:
            case SpecialType.System_Single:
            case SpecialType.System_Double:
            case SpecialType.System_Decimal:
            case SpecialType.System_Char:
            case SpecialType.System_String:
            case SpecialType.System_Object:
            case SpecialType.System_DateTime:
                return true;
        }

        if (type is not INamedTypeSymbol { ContainingType: null, IsGenericType: false } named)
        {
            return false;
        }

        var ns = named.ContainingNamespace;
        if (IsNamespace(ns, "System"))
        {
            return named.Name is "Guid" or "DateTimeOffset" or "DateOnly" or "TimeOnly" or "TimeSpan" or "Uri";
        }

        return named.Name == "JsonElement" && IsNamespace(ns, "System", "Text", "Json");
    }

    /// <summary>Whether <paramref name="ns"/> is exactly the namespace <paramref name="parts"/> (outermost first).</summary>
    public static bool IsNamespace(INamespaceSymbol? ns, params string[] parts)
    {
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            if (ns is null || ns.IsGlobalNamespace || ns.Name != parts[i])
            {
                return false;
            }

            ns = ns.ContainingNamespace;
        }

        return ns is not null && ns.IsGlobalNamespace;
    }
}
