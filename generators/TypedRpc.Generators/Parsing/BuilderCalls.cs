using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace TypedRpc.Generators.Parsing;

/// <summary>Recognises calls of the <c>TypedRpc.TypedRpcBuilderExtensions</c> methods: by name in syntax, then by symbol.</summary>
internal static class BuilderCalls
{
    public const string UseJsonContext = nameof(UseJsonContext);
    public const string AddClient = nameof(AddClient);
    public const string AddServer = nameof(AddServer);

    /// <summary>The name the invocation calls, as written: <c>x.Name(…)</c>, <c>x?.Name(…)</c> or <c>Name(…)</c>.</summary>
    public static SimpleNameSyntax? InvokedName(InvocationExpressionSyntax invocation) => invocation.Expression switch
    {
        MemberAccessExpressionSyntax access => access.Name,
        MemberBindingExpressionSyntax binding => binding.Name,
        SimpleNameSyntax name => name,
        _ => null,
    };

    /// <summary>
    /// The method the invocation binds to, when it is <paramref name="name"/> of TypedRpcBuilderExtensions.
    /// A single candidate counts too: the generator sees the compilation without other generators'
    /// output (System.Text.Json's <c>Default</c>, our own server bases), so such calls may not bind.
    /// </summary>
    public static IMethodSymbol? Resolve(SemanticModel model, InvocationExpressionSyntax invocation, string name, CancellationToken cancellationToken)
    {
        var info = model.GetSymbolInfo(invocation, cancellationToken);
        var method = info.Symbol as IMethodSymbol;
        if (method is null && info.CandidateSymbols.Length == 1)
        {
            method = info.CandidateSymbols[0] as IMethodSymbol;
        }

        var definition = method?.ReducedFrom ?? method;
        if (definition is null || definition.Name != name
            || definition.ContainingType is not { Name: "TypedRpcBuilderExtensions" } owner
            || !JsonTypeKeys.IsNamespace(owner.ContainingNamespace, "TypedRpc"))
        {
            return null;
        }

        return method;
    }

    /// <summary>The expression passed as the method's <paramref name="parameterIndex"/>-th parameter (the builder is 0), named or positional.</summary>
    public static ExpressionSyntax? Argument(InvocationExpressionSyntax invocation, IMethodSymbol method, int parameterIndex)
    {
        var definition = method.ReducedFrom ?? method;
        if (parameterIndex >= definition.Parameters.Length)
        {
            return null;
        }

        var parameterName = definition.Parameters[parameterIndex].Name;
        var position = method.ReducedFrom is not null ? parameterIndex - 1 : parameterIndex;
        var arguments = invocation.ArgumentList.Arguments;
        foreach (var argument in arguments)
        {
            if (argument.NameColon?.Name.Identifier.ValueText == parameterName)
            {
                return argument.Expression;
            }
        }

        return position >= 0 && position < arguments.Count && arguments[position].NameColon is null ? arguments[position].Expression : null;
    }

    /// <summary>Whether <paramref name="type"/> is a <c>[TypedRpc.AsyncSyncContract]</c> interface; its service name if so.</summary>
    public static bool IsContract(ITypeSymbol? type, out string serviceName)
    {
        serviceName = string.Empty;
        if (type is not INamedTypeSymbol { TypeKind: TypeKind.Interface } named)
        {
            return false;
        }

        foreach (var attribute in named.GetAttributes())
        {
            if (attribute.AttributeClass?.ToDisplayString() == ContractParser.ContractAttributeName)
            {
                serviceName = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string ?? string.Empty : string.Empty;
                return serviceName.Length > 0;
            }
        }

        return false;
    }

    /// <summary>Strips <c>!</c> and parentheses around an expression.</summary>
    public static ExpressionSyntax Unwrap(ExpressionSyntax expression)
    {
        while (true)
        {
            switch (expression)
            {
                case ParenthesizedExpressionSyntax parenthesized:
                    expression = parenthesized.Expression;
                    break;
                case PostfixUnaryExpressionSyntax postfix when postfix.IsKind(SyntaxKind.SuppressNullableWarningExpression):
                    expression = postfix.Operand;
                    break;
                default:
                    return expression;
            }
        }
    }
}
