using Microsoft.CodeAnalysis;

namespace TypedRpc.Generators;

/// <summary>
/// Every diagnostic the generator reports. Ids are stable: never renumber or reuse one. Each has a
/// section in docs/diagnostics.md with a bad example and the fix, and a line in
/// AnalyzerReleases.*.md.
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "TypedRpc";
    private const string HelpBase = "https://github.com/typedrpc/typedrpc/blob/main/docs/diagnostics.md#";

    private static DiagnosticDescriptor Create(string id, string title, string message, DiagnosticSeverity severity = DiagnosticSeverity.Error) =>
        new(id, title, message, Category, severity, isEnabledByDefault: true, helpLinkUri: HelpBase + id.ToLowerInvariant());

    public static readonly DiagnosticDescriptor ContractMustBeInterface = Create(
        "TRPC0001", "Contract must be an interface",
        "[AsyncSyncContract] is on {0} '{1}'; a contract must be an interface");

    public static readonly DiagnosticDescriptor GenericContract = Create(
        "TRPC0002", "Contract must not be generic",
        "Contract '{0}' is generic, or nested in a generic type; a contract must be a non-generic interface");

    public static readonly DiagnosticDescriptor GenericMethod = Create(
        "TRPC0003", "Contract method must not be generic",
        "Method '{0}' is generic; contract methods must not have type parameters");

    public static readonly DiagnosticDescriptor UnsupportedParameterModifier = Create(
        "TRPC0004", "Unsupported parameter modifier",
        "Parameter '{0}' of method '{1}' is declared '{2}'; contract parameters are passed by value only");

    public static readonly DiagnosticDescriptor UnsupportedParameterType = Create(
        "TRPC0005", "Unsupported parameter or result type",
        "Type '{0}' of {1} cannot be serialized: {2}");

    public static readonly DiagnosticDescriptor UnsupportedReturnType = Create(
        "TRPC0006", "Unsupported return type",
        "Method '{0}' returns '{1}'; a contract method returns Task, Task<T>, ValueTask, ValueTask<T>, Task<RpcResult<T>>, ValueTask<RpcResult<T>> or IAsyncEnumerable<T>");

    public static readonly DiagnosticDescriptor DuplicateMethodName = Create(
        "TRPC0007", "Method names must be unique",
        "Method '{0}' has the wire name '{1}', already used by another method of contract '{2}'; method names identify methods on the wire, so overloads are not allowed");

    public static readonly DiagnosticDescriptor UnsupportedMember = Create(
        "TRPC0008", "Contracts contain methods only",
        "Contract '{0}' declares the {1} '{2}'; a contract declares methods only");

    public static readonly DiagnosticDescriptor StaticOrDefaultMember = Create(
        "TRPC0009", "Contract methods must be abstract instance methods",
        "Method '{0}' is {1}; contract methods must be abstract instance methods without a body");

    public static readonly DiagnosticDescriptor MultipleCancellationTokens = Create(
        "TRPC0010", "At most one CancellationToken, last",
        "Method '{0}' {1}; a method may take one CancellationToken, as its last parameter");

    public static readonly DiagnosticDescriptor MultipleRpcKeys = Create(
        "TRPC0011", "At most one [RpcKey] parameter",
        "Method '{0}' has more than one [RpcKey] parameter; at most one parameter can be the record key");

    public static readonly DiagnosticDescriptor UnsupportedRpcKeyType = Create(
        "TRPC0012", "Unsupported [RpcKey] type",
        "[RpcKey] parameter '{0}' has type '{1}'; the key must be a string, Guid, integer or enum");

    public static readonly DiagnosticDescriptor InvalidTimeout = Create(
        "TRPC0013", "Invalid [RpcTimeout] value",
        "[RpcTimeout] on '{0}' has {1}");

    public static readonly DiagnosticDescriptor DuplicateServiceName = Create(
        "TRPC0014", "Service names and request topics must be unique",
        "{0} of contract '{1}' is also used by contract '{2}'; each contract needs its own service name and request topic (Kafka treats '.' and '_' in topic names alike)");

    public static readonly DiagnosticDescriptor InvalidServiceName = Create(
        "TRPC0015", "Invalid service name",
        "Service name '{0}' of contract '{1}' is invalid: {2}");

    public static readonly DiagnosticDescriptor InvalidTopicName = Create(
        "TRPC0016", "Invalid topic name",
        "Topic '{0}' of contract '{1}' is invalid: {2}");

    public static readonly DiagnosticDescriptor MultipleCallOptions = Create(
        "TRPC0017", "At most one RpcCallOptions parameter",
        "Method '{0}' has more than one RpcCallOptions parameter");

    public static readonly DiagnosticDescriptor ContractNotAccessible = Create(
        "TRPC0018", "Contract must be public or internal",
        "Contract '{0}' is {1}; generated proxies and server bases need a public or internal interface");

    public static readonly DiagnosticDescriptor LooselyTypedParameter = Create(
        "TRPC0019", "Loosely typed parameter or result",
        "Type '{0}' of {1} is serialized as its runtime shape and read back as a JSON element; use a concrete type", DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor BaseInterfaceMembers = Create(
        "TRPC0020", "Contract must not inherit interfaces",
        "Contract '{0}' inherits '{1}'; a contract declares all its methods itself");

    public static readonly DiagnosticDescriptor GeneratedNameClash = Create(
        "TRPC0021", "Generated type names must be free",
        "Contract '{0}' would generate '{1}', which is already {2}; rename the interface (or the other type)");

    public static readonly DiagnosticDescriptor JsonContextLacksType = Create(
        "TRPC0022", "JSON context lacks a contract type",
        "{0} no metadata for '{1}' ({2}); add [JsonSerializable(typeof({1}))]", DiagnosticSeverity.Warning);
}
