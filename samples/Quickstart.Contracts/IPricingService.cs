using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc;

namespace Quickstart.Contracts;

/// <summary>Prices orders for the shop front: the contract both clusters share.</summary>
[AsyncSyncContract("pricing")]
public interface IPricingService
{
    /// <summary>Quotes a price for a quantity of a product (made-to-order products take a few seconds).</summary>
    [RpcTimeout(20_000, ExtendByMs = 10_000)]
    Task<Quote> GetQuoteAsync(QuoteRequest request, RpcCallOptions options = default, CancellationToken cancellationToken = default);

    /// <summary>
    /// Places an order; orders with the same id go to one partition, in order. Pass the order id as
    /// the idempotency key (<c>RpcCallOptions.Default.WithIdempotencyKey(orderId)</c>) and a retry
    /// from any instance reaches the same call instead of placing the order twice. The order is
    /// wanted for 30 s; a caller usually waits less (<c>WithMaxWait</c>) and gets a Pending result
    /// to fetch later while the order goes on.
    /// </summary>
    [RpcTimeout(30_000)]
    Task<RpcResult<Receipt>> PlaceOrderAsync([RpcKey] string orderId, decimal amount, RpcCallOptions options = default, CancellationToken cancellationToken = default);

    /// <summary>Streams the next <paramref name="count"/> price ticks of a symbol.</summary>
    IAsyncEnumerable<PriceTick> WatchAsync(string symbol, int count, CancellationToken cancellationToken = default);

    /// <summary>Cancels an order; completes when the server acknowledges it.</summary>
    Task CancelOrderAsync([RpcKey] string orderId);
}
