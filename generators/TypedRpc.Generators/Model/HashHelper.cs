namespace TypedRpc.Generators.Model;

/// <summary>Hash combining for netstandard2.0, which has no System.HashCode.</summary>
internal static class HashHelper
{
    public static int Combine(int h1, int h2) => unchecked(((h1 << 5) + h1) ^ h2);
}
