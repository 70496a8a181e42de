using System;
using System.Collections.Generic;

namespace Quickstart.Contracts;

/// <summary>A request for a price.</summary>
/// <param name="Sku">The product.</param>
/// <param name="Quantity">How many.</param>
/// <param name="Currency">The currency to quote in.</param>
public sealed record QuoteRequest(string Sku, int Quantity, string Currency = "EUR");

/// <summary>A price quote.</summary>
/// <param name="Sku">The product.</param>
/// <param name="UnitPrice">The price of one unit.</param>
/// <param name="Total">The price of the quantity asked for.</param>
/// <param name="ValidUntil">When the quote expires.</param>
/// <param name="Discounts">Discounts applied, by name.</param>
/// <param name="PricedBy">The server instance that priced it.</param>
public sealed record Quote(string Sku, decimal UnitPrice, decimal Total, DateTimeOffset ValidUntil, IReadOnlyDictionary<string, decimal>? Discounts, string PricedBy);

/// <summary>The receipt of a placed order.</summary>
/// <param name="OrderId">The order.</param>
/// <param name="ReceiptId">The receipt number.</param>
/// <param name="Charged">The amount charged.</param>
/// <param name="ProcessedBy">The server instance that placed it.</param>
public sealed record Receipt(string OrderId, Guid ReceiptId, decimal Charged, string ProcessedBy);

/// <summary>One price observation.</summary>
/// <param name="Symbol">The symbol.</param>
/// <param name="Sequence">The tick's position in the stream.</param>
/// <param name="Price">The price.</param>
/// <param name="Source">The server instance that streams it.</param>
public sealed record PriceTick(string Symbol, int Sequence, decimal Price, string Source);
