using Microsoft.CodeAnalysis;

namespace TypedRpc.Generators.Parsing;

/// <summary>The framework and TypedRpc types the parser compares against, resolved once per parse.</summary>
internal sealed class KnownTypes
{
    public KnownTypes(Compilation compilation)
    {
        Task = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task");
        TaskOfT = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task`1");
        ValueTask = compilation.GetTypeByMetadataName("System.Threading.Tasks.ValueTask");
        ValueTaskOfT = compilation.GetTypeByMetadataName("System.Threading.Tasks.ValueTask`1");
        AsyncEnumerable = compilation.GetTypeByMetadataName("System.Collections.Generic.IAsyncEnumerable`1");
        CancellationToken = compilation.GetTypeByMetadataName("System.Threading.CancellationToken");
        Guid = compilation.GetTypeByMetadataName("System.Guid");
        RpcResult = compilation.GetTypeByMetadataName("TypedRpc.RpcResult`1");
        RpcCallOptions = compilation.GetTypeByMetadataName("TypedRpc.RpcCallOptions");
        RpcTimeoutAttribute = compilation.GetTypeByMetadataName("TypedRpc.RpcTimeoutAttribute");
        RpcKeyAttribute = compilation.GetTypeByMetadataName("TypedRpc.RpcKeyAttribute");
    }

    public INamedTypeSymbol? Task { get; }
    public INamedTypeSymbol? TaskOfT { get; }
    public INamedTypeSymbol? ValueTask { get; }
    public INamedTypeSymbol? ValueTaskOfT { get; }
    public INamedTypeSymbol? AsyncEnumerable { get; }
    public INamedTypeSymbol? CancellationToken { get; }
    public INamedTypeSymbol? Guid { get; }
    public INamedTypeSymbol? RpcResult { get; }
    public INamedTypeSymbol? RpcCallOptions { get; }
    public INamedTypeSymbol? RpcTimeoutAttribute { get; }
    public INamedTypeSymbol? RpcKeyAttribute { get; }

    public static bool Is(ITypeSymbol? type, INamedTypeSymbol? known) =>
        known is not null && type is not null && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, known);
}
