using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using TypedRpc.Generators.Model;

namespace TypedRpc.Generators.Parsing;

/// <summary>
/// Reads an <c>AddClient&lt;TContract&gt;()</c> or <c>AddServer&lt;TImpl&gt;()</c> call into the
/// types its contract sends: each data parameter's type and the reply (or stream item) type. The
/// contract is read from symbols, so it may come from a referenced assembly.
/// </summary>
internal static class RegistrationParser
{
    public static bool IsCandidate(SyntaxNode node, CancellationToken cancellationToken) =>
        node is InvocationExpressionSyntax invocation
        && BuilderCalls.InvokedName(invocation) is GenericNameSyntax { TypeArgumentList.Arguments.Count: 1 } name
        && name.Identifier.ValueText is BuilderCalls.AddClient or BuilderCalls.AddServer;

    public static EquatableArray<JsonTypeNeed> Parse(GeneratorSyntaxContext context, CancellationToken cancellationToken)
    {
        var invocation = (InvocationExpressionSyntax)context.Node;
        var name = (GenericNameSyntax)BuilderCalls.InvokedName(invocation)!;
        var methodName = name.Identifier.ValueText;
        if (BuilderCalls.Resolve(context.SemanticModel, invocation, methodName, cancellationToken) is null
            || context.SemanticModel.GetTypeInfo(name.TypeArgumentList.Arguments[0], cancellationToken).Type is not INamedTypeSymbol typeArgument)
        {
            return EquatableArray<JsonTypeNeed>.Empty;
        }

        var compilation = context.SemanticModel.Compilation;
        var contracts = new List<INamedTypeSymbol>();
        if (methodName == BuilderCalls.AddClient)
        {
            if (BuilderCalls.IsContract(typeArgument, out _))
            {
                contracts.Add(typeArgument);
            }
        }
        else
        {
            ServerContracts(typeArgument, compilation, contracts, cancellationToken);
        }

        if (contracts.Count == 0)
        {
            return EquatableArray<JsonTypeNeed>.Empty;
        }

        var known = new KnownTypes(compilation);
        var needs = ImmutableArray.CreateBuilder<JsonTypeNeed>();
        foreach (var contract in contracts)
        {
            AddNeeds(contract, known, needs);
        }

        return needs.ToImmutable().ToEquatableArray();
    }

    private static void AddNeeds(INamedTypeSymbol contract, KnownTypes known, ImmutableArray<JsonTypeNeed>.Builder needs)
    {
        BuilderCalls.IsContract(contract, out var serviceName);
        foreach (var member in contract.GetMembers())
        {
            if (member is not IMethodSymbol { MethodKind: MethodKind.Ordinary, IsStatic: false } method)
            {
                continue;
            }

            var fullName = serviceName + "/" + MethodParser.WireName(method.Name);
            foreach (var parameter in method.Parameters)
            {
                if (!KnownTypes.Is(parameter.Type, known.CancellationToken) && !KnownTypes.Is(parameter.Type, known.RpcCallOptions))
                {
                    Add(parameter.Type, $"parameter '{parameter.Name}' of {fullName}", needs);
                }
            }

            var kind = MethodParser.ClassifyReturn(method.ReturnType, known, out var resultType);
            if (resultType is not null)
            {
                Add(resultType, (kind == ReturnKind.AsyncEnumerable ? "the stream items of " : "the reply of ") + fullName, needs);
            }
        }
    }

    private static void Add(ITypeSymbol type, string use, ImmutableArray<JsonTypeNeed>.Builder needs)
    {
        if (!JsonTypeKeys.IsCheckable(type) || JsonTypeKeys.IsBuiltIn(type))
        {
            return;
        }

        var underlying = type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable
            ? JsonTypeKeys.Key(nullable.TypeArguments[0])
            : null;
        needs.Add(new JsonTypeNeed(JsonTypeKeys.Key(type), underlying, JsonTypeKeys.Display(type), use));
    }

    /// <summary>
    /// The contracts a server class serves: contract interfaces it implements, and the contract of
    /// the generated <c>…Base</c> it derives from. A base generated in this compilation is not
    /// visible to the generator (it is its own output), so it appears as an unresolved type, found
    /// back by name among the compilation's contracts; one from a referenced assembly is resolved,
    /// and its contract sits in its namespace.
    /// </summary>
    private static void ServerContracts(INamedTypeSymbol server, Compilation compilation, List<INamedTypeSymbol> contracts, CancellationToken cancellationToken)
    {
        foreach (var implemented in server.AllInterfaces)
        {
            if (BuilderCalls.IsContract(implemented, out _))
            {
                AddDistinct(contracts, implemented);
            }
        }

        for (var baseType = server.BaseType; baseType is not null; baseType = baseType.BaseType)
        {
            const string Suffix = "Base";
            var baseName = baseType.Name;
            if (baseName.Length <= Suffix.Length || !baseName.EndsWith(Suffix, StringComparison.Ordinal))
            {
                continue;
            }

            var prefix = baseName.Substring(0, baseName.Length - Suffix.Length);
            if (baseType.TypeKind == TypeKind.Error)
            {
                if (FindSourceContract(prefix, baseType, server, compilation, cancellationToken) is { } contract)
                {
                    AddDistinct(contracts, contract);
                }

                return;
            }

            if (baseType.DeclaringSyntaxReferences.IsEmpty)
            {
                foreach (var candidate in ContractsIn(baseType.ContainingNamespace, baseType.ContainingAssembly))
                {
                    if (ContractParser.GeneratedPrefix(candidate) == prefix)
                    {
                        AddDistinct(contracts, candidate);
                    }
                }
            }
        }
    }

    private static INamedTypeSymbol? FindSourceContract(string prefix, INamedTypeSymbol baseType, INamedTypeSymbol server, Compilation compilation, CancellationToken cancellationToken)
    {
        var candidates = new List<INamedTypeSymbol>();
        foreach (var symbol in compilation.GetSymbolsWithName(n => prefix.EndsWith(ContractParser.StripInterfacePrefix(n), StringComparison.Ordinal), SymbolFilter.Type, cancellationToken))
        {
            if (symbol is INamedTypeSymbol candidate && BuilderCalls.IsContract(candidate, out _) && ContractParser.GeneratedPrefix(candidate) == prefix
                && (baseType.ContainingNamespace is not { IsGlobalNamespace: false } written || written.ToDisplayString() == candidate.ContainingNamespace.ToDisplayString()))
            {
                candidates.Add(candidate);
            }
        }

        if (candidates.Count <= 1)
        {
            return candidates.Count == 1 ? candidates[0] : null;
        }

        // Several namespaces generate a base of that name: keep those the server's declaration can
        // see by name, the way the compiler will resolve it once the bases exist.
        if (server.DeclaringSyntaxReferences.IsEmpty)
        {
            return null;
        }

        var declaration = server.DeclaringSyntaxReferences[0];
        var model = compilation.GetSemanticModel(declaration.SyntaxTree);
        INamedTypeSymbol? visible = null;
        foreach (var candidate in candidates)
        {
            if (candidate.ContainingType is not null)
            {
                continue;
            }

            foreach (var found in model.LookupNamespacesAndTypes(declaration.Span.Start, name: candidate.Name))
            {
                if (SymbolEqualityComparer.Default.Equals(found, candidate))
                {
                    if (visible is not null)
                    {
                        return null;
                    }

                    visible = candidate;
                }
            }
        }

        return visible;
    }

    /// <summary>The contract interfaces declared in <paramref name="ns"/> (nested ones included) by <paramref name="assembly"/>.</summary>
    private static IEnumerable<INamedTypeSymbol> ContractsIn(INamespaceSymbol? ns, IAssemblySymbol? assembly)
    {
        if (ns is null)
        {
            yield break;
        }

        var pending = new Stack<INamedTypeSymbol>(ns.GetTypeMembers());
        while (pending.Count > 0)
        {
            var type = pending.Pop();
            if (!SymbolEqualityComparer.Default.Equals(type.ContainingAssembly, assembly))
            {
                continue;
            }

            if (BuilderCalls.IsContract(type, out _))
            {
                yield return type;
            }

            foreach (var nested in type.GetTypeMembers())
            {
                pending.Push(nested);
            }
        }
    }

    private static void AddDistinct(List<INamedTypeSymbol> contracts, INamedTypeSymbol contract)
    {
        foreach (var existing in contracts)
        {
            if (SymbolEqualityComparer.Default.Equals(existing, contract))
            {
                return;
            }
        }

        contracts.Add(contract);
    }
}
