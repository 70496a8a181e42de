using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Quickstart.Contracts;
using TypedRpc;

namespace Quickstart;

/// <summary>Which instance this host is: the demo shows it on every call.</summary>
public sealed record InstanceName(string Value);

/// <summary>
/// The side effects of placed orders, counted per order id across every server instance of this
/// process — the demo's proof that a retried order ran once.
/// </summary>
public sealed class OrderLedger
{
    private readonly ConcurrentDictionary<string, int> _placed = new(StringComparer.Ordinal);

    /// <summary>Records one execution of an order and returns how often it has run.</summary>
    public int Record(string orderId) => _placed.AddOrUpdate(orderId, 1, static (_, n) => n + 1);

    /// <summary>Orders that ran more than once.</summary>
    public int ExecutedTwice
    {
        get
        {
            var twice = 0;
            foreach (var pair in _placed)
            {
                if (pair.Value > 1)
                {
                    twice++;
                }
            }

            return twice;
        }
    }

    /// <summary>Orders that ran at all.</summary>
    public int Count => _placed.Count;

    /// <summary>How often an order ran.</summary>
    public int Times(string orderId) => _placed.TryGetValue(orderId, out var n) ? n : 0;
}

/// <summary>Requests run per server instance (for the server role's status line).</summary>
public sealed class ServerActivity
{
    private readonly ConcurrentDictionary<string, long> _runs = new(StringComparer.Ordinal);

    /// <summary>Counts one request run by an instance.</summary>
    public void Ran(string instance) => _runs.AddOrUpdate(instance, 1, static (_, n) => n + 1);

    /// <summary>Requests run by an instance so far.</summary>
    public long RunsOf(string instance) => _runs.TryGetValue(instance, out var n) ? n : 0;
}

/// <summary>
/// The serving side of <see cref="IPricingService"/>: derive from the generated base class and
/// override each method. Normal orders take tens of milliseconds; orders from 1,000 go through a
/// 1.5 s fraud check and orders from 10,000 through a 3.5 s manual approval, longer than
/// the 2.5 s the shop waits for an order.
/// </summary>
public sealed class PricingService(InstanceName instance, OrderLedger ledger, ServerActivity activity) : PricingServiceBase
{
    private static readonly Dictionary<string, decimal> Catalogue = new(StringComparer.Ordinal)
    {
        ["espresso-beans-1kg"] = 24.90m,
        ["grinder-pro"] = 189.00m,
        ["milk-jug"] = 12.50m,
        ["descaler"] = 7.95m,
        ["tamper"] = 29.00m,
        ["bespoke-roaster"] = 1_450.00m,
    };

    /// <inheritdoc />
    public override async Task<Quote> GetQuoteAsync(QuoteRequest request, RpcServerCallContext context)
    {
        activity.Ran(instance.Value);
        if (request.Quantity <= 0)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.InvalidArgument, "Quantity must be positive."));
        }

        if (request.Sku == "self-test")
        {
            // A bug, as far as the caller is concerned: it sees Internal and no details.
            throw new InvalidOperationException("price table corrupted (this text stays on the server)");
        }

        if (!Catalogue.TryGetValue(request.Sku, out var unit))
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.NotFound, $"No product '{request.Sku}'."));
        }

        // A made-to-order product is priced by hand: slower than a caller who asks to wait 1 s.
        await Task.Delay(request.Sku == "bespoke-roaster" ? 3_000 : Random.Shared.Next(5, 40), CancellationToken.None);
        var discounts = request.Quantity >= 10 ? new Dictionary<string, decimal> { ["volume"] = 0.05m } : null;
        var total = unit * request.Quantity * (discounts is null ? 1m : 0.95m);
        return new Quote(request.Sku, unit, decimal.Round(total, 2), DateTimeOffset.UtcNow.AddMinutes(15), discounts, instance.Value);
    }

    /// <inheritdoc />
    public override async Task<Receipt> PlaceOrderAsync(string orderId, decimal amount, RpcServerCallContext context)
    {
        activity.Ran(instance.Value);
        if (amount <= 0)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.InvalidArgument, "The amount must be positive."));
        }

        var work = amount >= 10_000 ? 3_500 : amount >= 1_000 ? 1_500 : Random.Shared.Next(10, 60);
        // Not bound to the caller's deadline on purpose: an order that outlives its caller's wait
        // still completes, and its receipt is stored under the call's id for a later fetch.
        await Task.Delay(work, CancellationToken.None);
        ledger.Record(orderId);
        return new Receipt(orderId, Guid.NewGuid(), amount, instance.Value);
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<PriceTick> WatchAsync(string symbol, int count, RpcServerCallContext context)
    {
        activity.Ran(instance.Value);
        var price = 100m + symbol.Length;
        for (var i = 1; i <= count; i++)
        {
            await Task.Delay(150, context.CancellationToken);
            price += decimal.Round((decimal)(Random.Shared.NextDouble() - 0.5) * 2m, 2);
            yield return new PriceTick(symbol, i, price, instance.Value);
        }
    }

    /// <inheritdoc />
    public override Task CancelOrderAsync(string orderId, RpcServerCallContext context)
    {
        activity.Ran(instance.Value);
        return Task.CompletedTask;
    }
}
