using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc;

namespace Quickstart.Contracts;

/// <summary>Prices orders for the shop front: the contract both clusters share.</summary>
[AsyncSyncContract("pricing")]
public interface IPricingService
{
    /// <summary>Quotes a price for a quantity of a product.</summary>
    [RpcTimeout(20_000, ExtendByMs = 10_000)]
    Task<Quote> GetQuoteAsync(QuoteRequest request, CancellationToken cancellationToken = default);

    /// <summary>Places an order; a timeout yields a Pending result that can be fetched later.</summary>
    [RpcTimeout(5_000)]
    Task<RpcResult<Receipt>> PlaceOrderAsync([RpcKey] string orderId, decimal amount, CancellationToken cancellationToken = default);

    /// <summary>Streams the next <paramref name="count"/> price ticks of a symbol.</summary>
    IAsyncEnumerable<PriceTick> WatchAsync(string symbol, int count, CancellationToken cancellationToken = default);

    /// <summary>Cancels an order; completes when the server acknowledges it.</summary>
    Task CancelOrderAsync([RpcKey] string orderId);
}
