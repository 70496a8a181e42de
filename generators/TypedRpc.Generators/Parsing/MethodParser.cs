using System;
using System.Collections.Immutable;
using System.Globalization;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using TypedRpc.Generators.Model;

namespace TypedRpc.Generators.Parsing;

/// <summary>Parses one contract method: its return shape, its parameters and its timeout.</summary>
internal static class MethodParser
{
    public static MethodModel? Parse(IMethodSymbol method, KnownTypes known, ImmutableArray<DiagnosticInfo>.Builder diagnostics, CancellationToken cancellationToken)
    {
        var syntax = method.DeclaringSyntaxReferences.Length > 0 ? method.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) as MethodDeclarationSyntax : null;
        var nameLocation = LocationInfo.From(ContractParser.FirstLocation(method));
        var valid = true;

        if (method.IsStatic)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.StaticOrDefaultMember, nameLocation, method.Name, "static"));
            return null;
        }

        if (!method.IsAbstract)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.StaticOrDefaultMember, nameLocation, method.Name, "default-implemented (it has a body)"));
            valid = false;
        }

        if (method.IsGenericMethod)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.GenericMethod, nameLocation, method.Name));
            valid = false;
        }

        // Return shape.
        var returnLocation = syntax is not null ? LocationInfo.From(syntax.ReturnType) : nameLocation;
        var kind = ClassifyReturn(method.ReturnType, known, out var resultType);
        if (kind is null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedReturnType, returnLocation, method.Name, method.ReturnType.ToDisplayString()));
            valid = false;
        }
        else if (resultType is not null)
        {
            valid &= CheckSerializable(resultType, known, $"the result of method '{method.Name}'", returnLocation, diagnostics);
        }

        // Timeout.
        if (!ContractParser.TryReadTimeout(method.GetAttributes(), known, method.Name, onContract: false, diagnostics, cancellationToken, out var timeoutMs, out var extendByMs))
        {
            valid = false;
        }

        // Parameters.
        var parameters = ImmutableArray.CreateBuilder<ParameterModel>(method.Parameters.Length);
        var totalTokens = 0;
        foreach (var parameter in method.Parameters)
        {
            totalTokens += KnownTypes.Is(parameter.Type, known.CancellationToken) ? 1 : 0;
        }

        var tokenCount = 0;
        var optionsCount = 0;
        var keyCount = 0;
        for (var i = 0; i < method.Parameters.Length; i++)
        {
            var parameter = method.Parameters[i];
            var parameterSyntax = syntax is not null && i < syntax.ParameterList.Parameters.Count ? syntax.ParameterList.Parameters[i] : null;
            var parameterLocation = parameterSyntax is not null ? LocationInfo.From(parameterSyntax) : LocationInfo.From(ContractParser.FirstLocation(parameter));

            var modifier = parameter.IsParams ? "params" : parameter.RefKind switch
            {
                RefKind.Ref => "ref",
                RefKind.Out => "out",
                RefKind.In => "in",
                RefKind.RefReadOnlyParameter => "ref readonly",
                _ => null,
            };
            if (modifier is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedParameterModifier, parameterLocation, parameter.Name, method.Name, modifier));
                valid = false;
                continue;
            }

            var keyAttribute = FindAttribute(parameter, known.RpcKeyAttribute);
            var isToken = KnownTypes.Is(parameter.Type, known.CancellationToken);
            var isOptions = KnownTypes.Is(parameter.Type, known.RpcCallOptions);
            if (isToken || isOptions)
            {
                if (keyAttribute is not null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedRpcKeyType, parameterLocation, parameter.Name, parameter.Type.ToDisplayString()));
                    valid = false;
                }

                if (isToken)
                {
                    tokenCount++;
                    if (tokenCount == 2)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MultipleCancellationTokens, parameterLocation, method.Name, "takes more than one CancellationToken"));
                        valid = false;
                    }
                    else if (totalTokens == 1 && i != method.Parameters.Length - 1)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MultipleCancellationTokens, parameterLocation, method.Name, "has a CancellationToken that is not its last parameter"));
                        valid = false;
                    }
                }
                else
                {
                    optionsCount++;
                    if (optionsCount == 2)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MultipleCallOptions, parameterLocation, method.Name));
                        valid = false;
                    }
                }

                parameters.Add(new ParameterModel(parameter.Name, parameter.Type.ToAnnotated(),
                    isToken ? ParameterRole.CancellationToken : ParameterRole.CallOptions, true, false, null, KeyFormat.None, parameter.Type.ToTypeOf()));
                continue;
            }

            if (!CheckSerializable(parameter.Type, known, $"parameter '{parameter.Name}'", parameterLocation, diagnostics))
            {
                valid = false;
                continue;
            }

            var key = KeyFormat.None;
            if (keyAttribute is not null)
            {
                keyCount++;
                if (keyCount == 2)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MultipleRpcKeys, LocationInfo.From(keyAttribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken)) ?? parameterLocation, method.Name));
                    valid = false;
                }

                key = ClassifyKey(parameter.Type, known);
                if (key == KeyFormat.None)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedRpcKeyType, parameterLocation, parameter.Name, parameter.Type.ToDisplayString()));
                    valid = false;
                }
            }

            var isNullableValue = parameter.Type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T;
            var acceptsNull = parameter.Type.IsValueType ? isNullableValue : parameter.NullableAnnotation != NullableAnnotation.NotAnnotated;
            var defaultValue = parameter.HasExplicitDefaultValue ? FormatDefault(parameter.ExplicitDefaultValue, parameter.Type) : null;
            parameters.Add(new ParameterModel(
                parameter.Name,
                parameter.Type.ToAnnotated(),
                ParameterRole.Data,
                IsOptional: acceptsNull || defaultValue is not null,
                RejectsNull: !parameter.Type.IsValueType && !acceptsNull,
                defaultValue,
                key,
                parameter.Type.ToTypeOf()));
        }

        if (!valid || kind is null)
        {
            return null;
        }

        return new MethodModel(
            method.Name,
            WireName(method.Name),
            method.ReturnType.ToAnnotated(),
            kind.Value,
            resultType?.ToAnnotated(),
            resultType?.ToTypeOf(),
            timeoutMs,
            extendByMs,
            parameters.ToImmutable().ToEquatableArray());
    }

    /// <summary>The stable wire name: the C# name without a trailing <c>Async</c>.</summary>
    internal static string WireName(string name) =>
        name.Length > 5 && name.EndsWith("Async", StringComparison.Ordinal) ? name.Substring(0, name.Length - 5) : name;

    internal static ReturnKind? ClassifyReturn(ITypeSymbol returnType, KnownTypes known, out ITypeSymbol? resultType)
    {
        resultType = null;
        if (returnType is not INamedTypeSymbol named)
        {
            return null;
        }

        if (KnownTypes.Is(named, known.Task) && !named.IsGenericType)
        {
            return ReturnKind.Task;
        }

        if (KnownTypes.Is(named, known.ValueTask) && !named.IsGenericType)
        {
            return ReturnKind.ValueTask;
        }

        if (named.TypeArguments.Length != 1)
        {
            return null;
        }

        var argument = named.TypeArguments[0];
        var isRpcResult = KnownTypes.Is(argument, known.RpcResult);
        if (KnownTypes.Is(named, known.TaskOfT) || KnownTypes.Is(named, known.ValueTaskOfT))
        {
            var isTask = KnownTypes.Is(named, known.TaskOfT);
            if (isRpcResult)
            {
                resultType = ((INamedTypeSymbol)argument).TypeArguments[0];
                return isTask ? ReturnKind.TaskOfRpcResult : ReturnKind.ValueTaskOfRpcResult;
            }

            resultType = argument;
            return isTask ? ReturnKind.TaskOfT : ReturnKind.ValueTaskOfT;
        }

        if (KnownTypes.Is(named, known.AsyncEnumerable) && !isRpcResult)
        {
            resultType = argument;
            return ReturnKind.AsyncEnumerable;
        }

        return null;
    }

    /// <summary>Reports types that cannot cross the wire as JSON; returns whether the type is usable.</summary>
    private static bool CheckSerializable(ITypeSymbol type, KnownTypes known, string what, LocationInfo? location, ImmutableArray<DiagnosticInfo>.Builder diagnostics)
    {
        var problem = SerializationProblem(type, known, depth: 0);
        if (problem is not null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedParameterType, location, type.ToDisplayString(), what, problem));
            return false;
        }

        if (ContainsLooseType(type, depth: 0))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LooselyTypedParameter, location, type.ToDisplayString(), what));
        }

        return true;
    }

    /// <summary><c>object</c> or <c>dynamic</c> anywhere in the type: top level, array element or type argument.</summary>
    private static bool ContainsLooseType(ITypeSymbol type, int depth)
    {
        if (depth > 8)
        {
            return false;
        }

        if (type.SpecialType == SpecialType.System_Object || type.TypeKind == TypeKind.Dynamic)
        {
            return true;
        }

        if (type is IArrayTypeSymbol array)
        {
            return ContainsLooseType(array.ElementType, depth + 1);
        }

        if (type is INamedTypeSymbol { IsGenericType: true } generic)
        {
            foreach (var argument in generic.TypeArguments)
            {
                if (ContainsLooseType(argument, depth + 1))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static string? SerializationProblem(ITypeSymbol type, KnownTypes known, int depth)
    {
        if (depth > 8 || type.TypeKind == TypeKind.Error)
        {
            // Unresolved types are the compiler's to report.
            return null;
        }

        switch (type.TypeKind)
        {
            case TypeKind.Pointer:
            case TypeKind.FunctionPointer:
                return "pointers cannot be sent";
            case TypeKind.Delegate:
                return "delegates cannot be sent";
            case TypeKind.TypeParameter:
                return "open type parameters cannot be sent";
            case TypeKind.Array:
                return SerializationProblem(((IArrayTypeSymbol)type).ElementType, known, depth + 1);
        }

        if (type.IsRefLikeType)
        {
            return "ref struct types such as Span<T> cannot be stored or sent; use an array or a collection";
        }

        if (type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr or SpecialType.System_Void)
        {
            return "native-sized and void types cannot be sent";
        }

        if (KnownTypes.Is(type, known.Task) || KnownTypes.Is(type, known.TaskOfT) || KnownTypes.Is(type, known.ValueTask)
            || KnownTypes.Is(type, known.ValueTaskOfT) || KnownTypes.Is(type, known.AsyncEnumerable)
            || KnownTypes.Is(type, known.CancellationToken) || KnownTypes.Is(type, known.RpcCallOptions) || KnownTypes.Is(type, known.RpcResult))
        {
            return "tasks, streams, cancellation tokens, call options and results are call shapes, not data";
        }

        if (type is INamedTypeSymbol { IsGenericType: true } generic)
        {
            foreach (var argument in generic.TypeArguments)
            {
                var problem = SerializationProblem(argument, known, depth + 1);
                if (problem is not null)
                {
                    return problem;
                }
            }
        }

        return null;
    }

    private static KeyFormat ClassifyKey(ITypeSymbol type, KnownTypes known)
    {
        if (type.SpecialType == SpecialType.System_String)
        {
            return KeyFormat.String;
        }

        // A nullable key type (int?, Guid?, an enum?) keys by its value, and gives no key when null.
        var nullable = type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } n;
        var underlying = nullable ? ((INamedTypeSymbol)type).TypeArguments[0] : type;
        KeyFormat format;
        if (underlying.TypeKind == TypeKind.Enum)
        {
            format = KeyFormat.Enum;
        }
        else if (KnownTypes.Is(underlying, known.Guid) || IsInteger(underlying))
        {
            format = KeyFormat.Formattable;
        }
        else
        {
            return KeyFormat.None;
        }

        return nullable ? format | KeyFormat.Nullable : format;
    }

    private static bool IsInteger(ITypeSymbol type) =>
        type.SpecialType is SpecialType.System_Byte or SpecialType.System_SByte or SpecialType.System_Int16 or SpecialType.System_UInt16
            or SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64
        || type is { Name: "Int128" or "UInt128", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } };

    private static AttributeData? FindAttribute(ISymbol symbol, INamedTypeSymbol? attributeType)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            if (KnownTypes.Is(attribute.AttributeClass, attributeType))
            {
                return attribute;
            }
        }

        return null;
    }

    /// <summary>The C# expression of a parameter's default value, typed as the parameter.</summary>
    private static string FormatDefault(object? value, ITypeSymbol type)
    {
        if (value is null)
        {
            return "default";
        }

        var target = type.ToTypeOf();
        var underlying = type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable ? nullable.TypeArguments[0] : type;
        string literal = value switch
        {
            string s => SymbolDisplay.FormatLiteral(s, quote: true),
            char c => SymbolDisplay.FormatLiteral(c, quote: true),
            bool b => b ? "true" : "false",
            float f => float.IsNaN(f) ? "float.NaN" : float.IsPositiveInfinity(f) ? "float.PositiveInfinity" : float.IsNegativeInfinity(f) ? "float.NegativeInfinity" : f.ToString("R", CultureInfo.InvariantCulture) + "F",
            double d => double.IsNaN(d) ? "double.NaN" : double.IsPositiveInfinity(d) ? "double.PositiveInfinity" : double.IsNegativeInfinity(d) ? "double.NegativeInfinity" : d.ToString("R", CultureInfo.InvariantCulture) + "D",
            decimal m => m.ToString(CultureInfo.InvariantCulture) + "M",
            long l => l.ToString(CultureInfo.InvariantCulture) + "L",
            ulong ul => ul.ToString(CultureInfo.InvariantCulture) + "UL",
            uint ui => ui.ToString(CultureInfo.InvariantCulture) + "U",
            IFormattable other => other.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "default",
        };

        return underlying.SpecialType == SpecialType.System_String || underlying.SpecialType == SpecialType.System_Boolean
            ? literal
            : $"({target})({literal})";
    }
}
