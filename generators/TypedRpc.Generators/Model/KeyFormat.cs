namespace TypedRpc.Generators.Model;

/// <summary>How an <c>[RpcKey]</c> value is turned into the record key text.</summary>
internal enum KeyFormat
{
    None,
    String,
    Formattable,
    Enum,
}
