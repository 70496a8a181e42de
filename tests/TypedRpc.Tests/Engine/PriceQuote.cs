namespace TypedRpc.Tests.Engine;

/// <summary>An argument and stream item with a floating-point number inside.</summary>
public sealed record PriceQuote(string Sku, double Amount);
