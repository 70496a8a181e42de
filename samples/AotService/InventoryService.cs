using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc;

namespace AotService;

/// <summary>Serves <see cref="IInventoryService"/> from a fixed table.</summary>
public sealed class InventoryService : InventoryServiceBase
{
    private static readonly Dictionary<string, int> Table = new(StringComparer.Ordinal)
    {
        ["sku-1"] = 42,
        ["sku-2"] = 7,
    };

    /// <inheritdoc />
    public override Task<Stock> GetStockAsync(string sku, RpcServerCallContext context) =>
        Table.TryGetValue(sku, out var available)
            ? Task.FromResult(new Stock(sku, available))
            : throw new RpcException(RpcStatusCode.NotFound, $"No SKU '{sku}'.");

    /// <inheritdoc />
    public override async IAsyncEnumerable<Stock> ListAsync(int count, RpcServerCallContext context)
    {
        for (var i = 1; i <= count; i++)
        {
            await Task.Yield();
            yield return new Stock("sku-" + i, i * 10);
        }
    }

    /// <inheritdoc />
    public override Task<Reservation> ReserveAsync(ReservationRequest request, RpcServerCallContext context) =>
        Table.TryGetValue(request.Sku, out var available) && available >= request.Quantity
            ? Task.FromResult(new Reservation(Guid.NewGuid().ToString("N"), request.Sku, request.Quantity))
            : throw new RpcException(RpcStatusCode.NotFound, $"No SKU '{request.Sku}' with {request.Quantity} available.");
}
