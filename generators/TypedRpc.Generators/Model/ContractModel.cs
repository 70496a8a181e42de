namespace TypedRpc.Generators.Model;

/// <summary>
/// Everything the emitters need to know about one contract, as plain values. Two parses of an
/// unchanged contract produce equal models, so the pipeline skips emitting.
/// </summary>
/// <param name="Namespace">The interface's namespace, or empty for the global namespace.</param>
/// <param name="InterfaceName">The interface's simple name.</param>
/// <param name="InterfaceType">The fully qualified interface name (<c>global::…</c>).</param>
/// <param name="ContainingTypes">The names of the types the interface is nested in, outermost first.</param>
/// <param name="IsPublic">Whether the generated types are public (else internal).</param>
/// <param name="TypeNamePrefix">The name the generated types start with, e.g. <c>PricingService</c>.</param>
/// <param name="ServiceName">The logical service name.</param>
/// <param name="Topic">The request topic override, or <c>null</c>.</param>
/// <param name="DefaultTimeoutMs">The contract-level <c>[RpcTimeout]</c>, or 0.</param>
/// <param name="Methods">The methods, in declaration order.</param>
internal sealed record ContractModel(
    string Namespace,
    string InterfaceName,
    string InterfaceType,
    EquatableArray<string> ContainingTypes,
    bool IsPublic,
    string TypeNamePrefix,
    string ServiceName,
    string? Topic,
    int DefaultTimeoutMs,
    EquatableArray<MethodModel> Methods)
{
    /// <summary>The hint-name stem: <c>{Namespace}.{Containing…}.{Interface}</c>.</summary>
    public string HintStem
    {
        get
        {
            var stem = ContainingTypes.Count == 0 ? InterfaceName : string.Join(".", ContainingTypes) + "." + InterfaceName;
            return Namespace.Length == 0 ? stem : Namespace + "." + stem;
        }
    }
}
