using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Quickstart.Contracts;
using TypedRpc;
using TypedRpc.AspNetCore;

namespace Quickstart;

/// <summary>
/// What the shop's instances serve to their own upstream (a gateway, a web front): synchronous
/// HTTP in front of the asynchronous calls — answered (200), handed a result location (202), or
/// failed with a problem (504, 4xx, 5xx).
/// </summary>
public static class ShopEdge
{
    /// <summary>Maps the endpoints.</summary>
    public static void Map(WebApplication app)
    {
        // Answers without a body (an unknown path's 404, a wrong method's 405) get a problem body too;
        // a value the endpoints cannot bind (amount=abc) is WithRpcResults' 400 problem naming it.
        app.UseStatusCodePages();
        var api = app.MapGroup("/").WithRpcResults();

        // GET /quotes/grinder-pro?quantity=2
        api.MapGet("/quotes/{sku}", (string sku, int? quantity, IPricingService pricing, RpcHttpCall call) =>
            pricing.GetQuoteAsync(new QuoteRequest(sku, quantity ?? 1), call.Options));

        // POST /orders/o-17?amount=120   (Idempotency-Key: "o-17" makes a retry the same call)
        api.MapPost("/orders/{orderId}", (string orderId, decimal amount, IPricingService pricing, RpcHttpCall call) =>
            pricing.PlaceOrderAsync(orderId, amount, call.Options));

        // GET /rpc-results/{handle}: where 202 Accepted points.
        app.MapRpcResults();
    }
}
