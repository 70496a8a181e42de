using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using TypedRpc.Generators.Model;

namespace TypedRpc.Generators.Parsing;

/// <summary>
/// Turns one <c>[AsyncSyncContract]</c> declaration into a <see cref="ContractModel"/> and its
/// diagnostics. Everything symbol-shaped stays inside this class: what leaves it is plain values.
/// </summary>
internal static partial class ContractParser
{
    public const string ContractAttributeName = "TypedRpc.AsyncSyncContractAttribute";

    /// <summary>Syntax filter: any type declaration, so that misuse on a class can be reported.</summary>
    public static bool IsCandidate(SyntaxNode node, CancellationToken cancellationToken) => node is TypeDeclarationSyntax;

    public static ContractParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var diagnostics = ImmutableArray.CreateBuilder<DiagnosticInfo>();
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var declaration = (TypeDeclarationSyntax)context.TargetNode;
        var identifierLocation = LocationInfo.From(declaration.Identifier.GetLocation());
        var attribute = context.Attributes[0];
        var attributeLocation = LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken)) ?? identifierLocation;

        if (type.TypeKind != TypeKind.Interface)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ContractMustBeInterface, identifierLocation, KindName(type), type.Name));
            return new ContractParseResult(null, diagnostics.ToImmutable().ToEquatableArray(), null);
        }

        var interfaceType = type.ToDisplayString(TypeNames.Plain);
        var serviceName = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null;
        string? topic = null;
        foreach (var named in attribute.NamedArguments)
        {
            if (named.Key == "Topic")
            {
                topic = named.Value.Value as string;
            }
        }

        var valid = true;
        var serviceNameError = NameRules.ValidateServiceName(serviceName);
        if (serviceNameError is not null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidServiceName, attributeLocation, serviceName ?? "", type.Name, serviceNameError));
            valid = false;
        }

        if (topic is not null)
        {
            var topicError = NameRules.ValidateTopic(topic);
            if (topicError is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTopicName, attributeLocation, topic, type.Name, topicError));
                valid = false;
            }
        }

        // Accessibility and genericity of the interface and every type around it.
        var containing = new List<string>();
        var isPublic = type.DeclaredAccessibility == Accessibility.Public;
        var accessibilityProblem = type.IsFileLocal ? "file-local" : AccessibilityProblem(type.DeclaredAccessibility);
        var isGeneric = type.IsGenericType;
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            containing.Insert(0, outer.Name);
            isPublic &= outer.DeclaredAccessibility == Accessibility.Public;
            accessibilityProblem ??= (outer.IsFileLocal ? "file-local" : AccessibilityProblem(outer.DeclaredAccessibility)) is { } p ? $"nested in {p} type '{outer.Name}'" : null;
            isGeneric |= outer.IsGenericType;
        }

        if (accessibilityProblem is not null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ContractNotAccessible, identifierLocation, type.Name, accessibilityProblem));
            valid = false;
        }

        if (isGeneric)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.GenericContract, identifierLocation, type.Name));
            valid = false;
        }

        foreach (var baseInterface in type.Interfaces)
        {
            var location = declaration.BaseList is { } baseList ? LocationInfo.From(baseList) : identifierLocation;
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.BaseInterfaceMembers, location, type.Name, baseInterface.ToDisplayString()));
            valid = false;
        }

        var known = new KnownTypes(context.SemanticModel.Compilation);
        var defaultTimeoutMs = 0;
        if (!TryReadTimeout(type.GetAttributes(), known, type.Name, onContract: true, diagnostics, cancellationToken, out defaultTimeoutMs, out _))
        {
            valid = false;
        }

        var methods = ImmutableArray.CreateBuilder<MethodModel>();
        var wireNames = new HashSet<string>();
        foreach (var member in type.GetMembers())
        {
            cancellationToken.ThrowIfCancellationRequested();
            switch (member)
            {
                case IMethodSymbol { MethodKind: MethodKind.Ordinary } method:
                    var model = MethodParser.Parse(method, known, diagnostics, cancellationToken);
                    if (model is null)
                    {
                        valid = false;
                    }
                    else if (!wireNames.Add(model.WireName))
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateMethodName, LocationInfo.From(FirstLocation(method)), method.Name, model.WireName, type.Name));
                        valid = false;
                    }
                    else
                    {
                        methods.Add(model);
                    }

                    break;
                case IMethodSymbol:
                    // Accessors of properties and events, operators: reported through their owner, or below.
                    if (member is IMethodSymbol { MethodKind: MethodKind.UserDefinedOperator or MethodKind.Conversion } op)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedMember, LocationInfo.From(FirstLocation(op)), type.Name, "operator", op.Name));
                        valid = false;
                    }

                    break;
                case IPropertySymbol property:
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedMember, LocationInfo.From(FirstLocation(property)), type.Name, property.IsIndexer ? "indexer" : "property", property.Name));
                    valid = false;
                    break;
                case IEventSymbol @event:
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedMember, LocationInfo.From(FirstLocation(@event)), type.Name, "event", @event.Name));
                    valid = false;
                    break;
                case IFieldSymbol field when !field.IsImplicitlyDeclared:
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedMember, LocationInfo.From(FirstLocation(field)), type.Name, field.IsConst ? "constant" : "field", field.Name));
                    valid = false;
                    break;
            }
        }


        var ns0 = type.ContainingNamespace is { IsGlobalNamespace: false } n0 ? n0.ToDisplayString() : string.Empty;
        var prefix = GeneratedPrefix(type);
        var serviceEntry = serviceNameError is null
            ? new ServiceNameEntry(serviceName!, type.ToDisplayString(), topic ?? serviceName + ".requests", ns0.Length == 0 ? prefix : ns0 + "." + prefix, attributeLocation)
            : null;

        // A generated type must not collide with a type the user already declared.
        foreach (var suffix in GeneratedSuffixes)
        {
            var metadataName = (ns0.Length == 0 ? "" : ns0 + ".") + prefix + suffix;
            if (context.SemanticModel.Compilation.GetTypeByMetadataName(metadataName) is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.GeneratedNameClash, identifierLocation, type.Name, metadataName, "a type declared in this compilation"));
                valid = false;
                break;
            }
        }

        var diagnosticArray = diagnostics.ToImmutable().ToEquatableArray();
        if (!valid)
        {
            return new ContractParseResult(null, diagnosticArray, serviceEntry);
        }

        var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : string.Empty;
        var model2 = new ContractModel(
            ns,
            type.Name,
            interfaceType,
            containing.ToEquatableArray(),
            isPublic,
            prefix,
            serviceName!,
            topic,
            defaultTimeoutMs,
            methods.ToImmutable().ToEquatableArray());
        return new ContractParseResult(model2, diagnosticArray, serviceEntry);
    }

    /// <summary>The suffixes of the types generated for a contract.</summary>
    internal static readonly string[] GeneratedSuffixes = { "Client", "Base", "Descriptor", "Dispatcher" };

    internal static bool TryReadTimeout(ImmutableArray<AttributeData> attributes, KnownTypes known, string ownerName, bool onContract,
        ImmutableArray<DiagnosticInfo>.Builder diagnostics, CancellationToken cancellationToken, out int timeoutMs, out int extendByMs)
    {
        timeoutMs = 0;
        extendByMs = 0;
        foreach (var attribute in attributes)
        {
            if (!KnownTypes.Is(attribute.AttributeClass, known.RpcTimeoutAttribute))
            {
                continue;
            }

            var location = LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken));
            if (attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0].Value is int t)
            {
                timeoutMs = t;
            }

            foreach (var named in attribute.NamedArguments)
            {
                if (named.Key == "ExtendByMs" && named.Value.Value is int e)
                {
                    extendByMs = e;
                }
            }

            if (timeoutMs <= 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTimeout, location, ownerName, $"a timeout of {timeoutMs} ms; it must be greater than zero"));
                return false;
            }

            if (extendByMs < 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTimeout, location, ownerName, $"ExtendByMs = {extendByMs}; it must be zero or greater"));
                return false;
            }

            // A contract-level extension would silently apply to every method; keep it explicit.
            if (onContract && extendByMs != 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTimeout, location, ownerName, "ExtendByMs on the contract; set the extension on each method that needs it"));
                return false;
            }

            if ((long)timeoutMs + extendByMs > int.MaxValue)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidTimeout, location, ownerName, "a timeout plus extension longer than int.MaxValue ms"));
                return false;
            }
        }

        return true;
    }

    private static string? AccessibilityProblem(Accessibility accessibility) => accessibility switch
    {
        // protected internal is visible to the whole assembly, where the generated types live.
        Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal => null,
        Accessibility.Private => "private",
        Accessibility.Protected => "protected",
        Accessibility.ProtectedAndInternal => "private protected",
        _ => "not accessible",
    };

    private static string KindName(INamedTypeSymbol type) => type.TypeKind switch
    {
        TypeKind.Class => type.IsRecord ? "record" : "class",
        TypeKind.Struct => type.IsRecord ? "record struct" : "struct",
        _ => type.TypeKind.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// The start of the contract's generated type names: its containing types' names, outermost
    /// first, then its own without the I-prefix (<c>Outer.IFoo</c> → <c>OuterFoo</c>).
    /// </summary>
    internal static string GeneratedPrefix(INamedTypeSymbol contract)
    {
        var prefix = StripInterfacePrefix(contract.Name);
        for (var outer = contract.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            prefix = outer.Name + prefix;
        }

        return prefix;
    }

    /// <summary><c>IPricingService</c> → <c>PricingService</c>; names without the I-prefix convention stay as they are.</summary>
    internal static string StripInterfacePrefix(string name) =>
        name.Length > 1 && name[0] == 'I' && char.IsUpper(name[1]) ? name.Substring(1) : name;

    internal static Location? FirstLocation(ISymbol symbol) => symbol.Locations.IsDefaultOrEmpty ? null : symbol.Locations[0];
}
