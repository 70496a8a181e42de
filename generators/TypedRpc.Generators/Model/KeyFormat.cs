using System;

namespace TypedRpc.Generators.Model;

/// <summary>How an <c>[RpcKey]</c> value is turned into the record key text.</summary>
[Flags]
internal enum KeyFormat
{
    None = 0,
    String = 1,
    Formattable = 2,
    Enum = 4,

    /// <summary>Combined with Formattable or Enum: the parameter is a nullable value type; null gives no key.</summary>
    Nullable = 8,
}
