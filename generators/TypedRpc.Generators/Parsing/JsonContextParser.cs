using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using TypedRpc.Generators.Model;

namespace TypedRpc.Generators.Parsing;

/// <summary>
/// Reads a <c>UseJsonContext(context)</c> call into the context's name and the types it covers.
/// Coverage is a generous over-approximation of what System.Text.Json's generator reaches from the
/// context's <c>[JsonSerializable]</c> types: a type counted as covered that is not only hides a
/// warning (the start-up check still catches it); a covered type counted as missing would be a
/// false warning, which this must not give.
/// </summary>
internal static class JsonContextParser
{
    /// <summary>Beyond this many reachable types the coverage counts as unknown, and nothing is reported.</summary>
    private const int MaxTypes = 10_000;

    public static bool IsCandidate(SyntaxNode node, CancellationToken cancellationToken) =>
        node is InvocationExpressionSyntax invocation && BuilderCalls.InvokedName(invocation)?.Identifier.ValueText == BuilderCalls.UseJsonContext;

    /// <summary>The call's context, or <c>null</c> when the call is not TypedRpc's <c>UseJsonContext</c>.</summary>
    public static JsonContextModel? Parse(GeneratorSyntaxContext context, CancellationToken cancellationToken)
    {
        var invocation = (InvocationExpressionSyntax)context.Node;
        var method = BuilderCalls.Resolve(context.SemanticModel, invocation, BuilderCalls.UseJsonContext, cancellationToken);
        if (method is null)
        {
            return null;
        }

        // From the method name to the closing parenthesis: in a chain (services.AddTypedRpc(…)
        // .UseJsonContext(…)) the invocation's own span would cover the whole receiver.
        var name = BuilderCalls.InvokedName(invocation)!;
        var location = LocationInfo.From(Location.Create(invocation.SyntaxTree, TextSpan.FromBounds(name.SpanStart, invocation.Span.End)));
        var argument = BuilderCalls.Argument(invocation, method, 1);
        var contextType = argument is null ? null : ResolveContextType(context.SemanticModel, BuilderCalls.Unwrap(argument), cancellationToken);
        if (contextType is null)
        {
            return new JsonContextModel(null, EquatableArray<string>.Empty, location);
        }

        var covered = Cover(contextType, cancellationToken);
        if (covered is null)
        {
            return new JsonContextModel(null, EquatableArray<string>.Empty, location);
        }

        covered.Sort(StringComparer.Ordinal);
        return new JsonContextModel(contextType.Name, covered.ToEquatableArray(), location);
    }

    /// <summary>
    /// The context class the argument is an instance of. <c>X.Default</c> is written by
    /// System.Text.Json's generator, whose output this generator does not see: the member does not
    /// bind, but <c>X</c> does. Anything typed more loosely (a variable of type
    /// <c>JsonSerializerContext</c>) could be any context: <c>null</c>.
    /// </summary>
    private static INamedTypeSymbol? ResolveContextType(SemanticModel model, ExpressionSyntax argument, CancellationToken cancellationToken)
    {
        if (model.GetTypeInfo(argument, cancellationToken).Type is INamedTypeSymbol type && IsContextClass(type))
        {
            return type;
        }

        if (argument is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Default" } access
            && model.GetSymbolInfo(access.Expression, cancellationToken).Symbol is INamedTypeSymbol owner
            && IsContextClass(owner))
        {
            return owner;
        }

        return null;
    }

    /// <summary>A concrete class deriving from System.Text.Json's JsonSerializerContext (an abstract one could be any of its subclasses).</summary>
    private static bool IsContextClass(INamedTypeSymbol type)
    {
        if (type.TypeKind != TypeKind.Class || type.IsAbstract)
        {
            return false;
        }

        for (var baseType = type.BaseType; baseType is not null; baseType = baseType.BaseType)
        {
            if (IsSerializerContext(baseType))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsSerializerContext(INamedTypeSymbol type) =>
        type.Name == "JsonSerializerContext" && JsonTypeKeys.IsNamespace(type.ContainingNamespace, "System", "Text", "Json", "Serialization");

    /// <summary>The keys of every type reachable from the context's <c>[JsonSerializable]</c> types; <c>null</c> when too many to tell.</summary>
    private static List<string>? Cover(INamedTypeSymbol contextType, CancellationToken cancellationToken)
    {
        var visited = new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default);
        var pending = new Stack<ITypeSymbol>();
        for (var type = contextType; type is not null && !IsSerializerContext(type); type = type.BaseType)
        {
            foreach (var attribute in type.GetAttributes())
            {
                if (IsJsonAttribute(attribute, "JsonSerializableAttribute") && attribute.ConstructorArguments.Length > 0
                    && attribute.ConstructorArguments[0].Value is ITypeSymbol listed)
                {
                    pending.Push(listed);
                }
            }
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var type = pending.Pop().WithNullableAnnotation(NullableAnnotation.NotAnnotated);
            if (!visited.Add(type))
            {
                continue;
            }

            if (visited.Count > MaxTypes)
            {
                return null;
            }

            if (type.TypeKind is TypeKind.Error or TypeKind.TypeParameter or TypeKind.Pointer or TypeKind.FunctionPointer)
            {
                continue;
            }

            keys.Add(JsonTypeKeys.Key(type));
            if (type is IArrayTypeSymbol array)
            {
                pending.Push(array.ElementType);
                continue;
            }

            if (type is not INamedTypeSymbol named)
            {
                continue;
            }

            // Type arguments (a Nullable<T>'s T among them), also those of containing types.
            for (var current = named; current is not null; current = current.ContainingType)
            {
                foreach (var argument in current.TypeArguments)
                {
                    pending.Push(argument);
                }
            }

            // A framework type reaches user types only through its type arguments; its own members
            // would only add framework types.
            if (IsFrameworkType(named))
            {
                continue;
            }

            if (named.BaseType is { SpecialType: not SpecialType.System_Object } baseType)
            {
                pending.Push(baseType);
            }

            foreach (var implemented in named.AllInterfaces)
            {
                pending.Push(implemented);
            }

            foreach (var member in named.GetMembers())
            {
                switch (member)
                {
                    case IPropertySymbol { IsStatic: false } property:
                        pending.Push(property.Type);
                        break;
                    case IFieldSymbol { IsStatic: false, IsConst: false } field:
                        pending.Push(field.Type);
                        break;
                    case IMethodSymbol { MethodKind: MethodKind.Constructor, IsStatic: false } constructor:
                        foreach (var parameter in constructor.Parameters)
                        {
                            pending.Push(parameter.Type);
                        }

                        break;
                }
            }

            foreach (var attribute in named.GetAttributes())
            {
                if (IsJsonAttribute(attribute, "JsonDerivedTypeAttribute") && attribute.ConstructorArguments.Length > 0
                    && attribute.ConstructorArguments[0].Value is ITypeSymbol derived)
                {
                    pending.Push(derived);
                }
            }
        }

        return new List<string>(keys);
    }

    private static bool IsJsonAttribute(AttributeData attribute, string name) =>
        attribute.AttributeClass is { } attributeClass && attributeClass.Name == name
        && JsonTypeKeys.IsNamespace(attributeClass.ContainingNamespace, "System", "Text", "Json", "Serialization");

    /// <summary>A type from a referenced System.* or Microsoft.* assembly.</summary>
    private static bool IsFrameworkType(INamedTypeSymbol type)
    {
        if (!type.DeclaringSyntaxReferences.IsEmpty)
        {
            return false;
        }

        var ns = type.ContainingNamespace;
        while (ns is { ContainingNamespace.IsGlobalNamespace: false })
        {
            ns = ns.ContainingNamespace;
        }

        return ns is { Name: "System" or "Microsoft" };
    }
}
