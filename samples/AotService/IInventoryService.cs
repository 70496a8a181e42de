using System.Collections.Generic;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc;

namespace AotService;

/// <summary>The sample's contract: a unary call, a stream and a call that fails with a status.</summary>
[AsyncSyncContract("inventory")]
public interface IInventoryService
{
    /// <summary>The stock of <paramref name="sku"/>.</summary>
    Task<Stock> GetStockAsync(string sku, CancellationToken cancellationToken = default);

    /// <summary>The first <paramref name="count"/> stock lines, one at a time.</summary>
    IAsyncEnumerable<Stock> ListAsync(int count, CancellationToken cancellationToken = default);

    /// <summary>Reserves items; an unknown SKU fails with <see cref="RpcStatusCode.NotFound"/>.</summary>
    Task<Reservation> ReserveAsync(ReservationRequest request, CancellationToken cancellationToken = default);
}

/// <summary>A stock line.</summary>
/// <param name="Sku">The SKU.</param>
/// <param name="Available">Items available.</param>
public sealed record Stock(string Sku, int Available);

/// <summary>What to reserve.</summary>
/// <param name="Sku">The SKU.</param>
/// <param name="Quantity">How many.</param>
public sealed record ReservationRequest(string Sku, int Quantity);

/// <summary>A reservation made.</summary>
/// <param name="Id">The reservation's id.</param>
/// <param name="Sku">The SKU.</param>
/// <param name="Quantity">How many.</param>
public sealed record Reservation(string Id, string Sku, int Quantity);

/// <summary>
/// The JSON metadata of the contract's types, generated at compile time (no reflection at run
/// time): registered with <c>UseJsonContext(InventoryJsonContext.Default)</c>. Primitives such as
/// the <c>string</c> and <c>int</c> parameters need no entry.
/// </summary>
[JsonSerializable(typeof(Stock))]
[JsonSerializable(typeof(ReservationRequest))]
[JsonSerializable(typeof(Reservation))]
public sealed partial class InventoryJsonContext : JsonSerializerContext;

/// <summary>A context that lacks two of the contract's types, for <c>--json-context partial</c>.</summary>
[JsonSerializable(typeof(Stock))]
public sealed partial class StockOnlyJsonContext : JsonSerializerContext;
