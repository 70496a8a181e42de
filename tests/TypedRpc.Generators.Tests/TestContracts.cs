namespace TypedRpc.Generators.Tests;

/// <summary>Contract sources used across the tests: together they cover every supported shape.</summary>
internal static class TestContracts
{
    public const string Pricing = """
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        using TypedRpc;

        namespace Acme.Pricing;

        public sealed record QuoteRequest(string Sku, int Quantity);
        public sealed record Quote(string Sku, decimal Total);
        public sealed record Receipt(string OrderId, decimal Charged);
        public sealed record PriceTick(string Symbol, decimal Price);

        [AsyncSyncContract("pricing")]
        public interface IPricingService
        {
            [RpcTimeout(20_000, ExtendByMs = 10_000)]
            Task<Quote> GetQuoteAsync(QuoteRequest request, CancellationToken ct = default);

            Task<RpcResult<Receipt>> PlaceOrderAsync([RpcKey] string orderId, decimal amount, CancellationToken ct = default);

            IAsyncEnumerable<PriceTick> WatchAsync(string symbol, int count, CancellationToken ct = default);

            Task CancelOrderAsync(string orderId);
        }
        """;

    public const string AllShapes = """
        using System;
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        using TypedRpc;

        namespace Shapes.Deep.Name;

        public enum Color { Red, Green }
        public sealed record Item(string Name, int[] Values, Dictionary<string, decimal> Prices, Color Color, Guid Id,
            DateTime At, DateTimeOffset AtOffset, TimeSpan Span, decimal Amount, byte[] Blob, int? Maybe, List<Item>? Children);

        [AsyncSyncContract("shapes", Topic = "shapes.requests.v1")]
        [RpcTimeout(15_000)]
        public interface IShapes
        {
            Task PingAsync();
            ValueTask TouchAsync(string name, CancellationToken cancellationToken);
            Task<int> AddAsync(int a, int b, CancellationToken cancellationToken = default);
            ValueTask<string?> EchoAsync(string? text, RpcCallOptions options, CancellationToken cancellationToken = default);
            [RpcTimeout(1_000, ExtendByMs = 500)]
            Task<RpcResult<Item>> RoundTripAsync([RpcKey] Guid id, Item item);
            ValueTask<RpcResult<List<int>>> RangeAsync([RpcKey] long start, int count = 3);
            IAsyncEnumerable<Item?> StreamAsync([RpcKey] Color color, IReadOnlyList<Item> seed, CancellationToken cancellationToken = default);
            Task<string> KeywordsAsync(string @event, int @class, string context, string Key, string writer, RpcCallOptions options);
            Task<IReadOnlyDictionary<string, Item?>?> OptionalAsync(string? maybe = null, int count = 2, decimal rate = 1.5m, Color color = Color.Green,
                string label = "x\"y", double ratio = double.NaN, long big = long.MinValue, char c = 'q', bool flag = true, Guid? id = null, float f = 0.25f);
            Task<(int Count, string Name)> TupleAsync(Dictionary<Guid, Item[]> index, byte[]? raw);
        }
        """;

    public const string Nested = """
        using System.Threading.Tasks;
        using TypedRpc;

        namespace Nesting;

        public static class Contracts
        {
            public static class Billing
            {
                [AsyncSyncContract("billing")]
                public interface IInvoices
                {
                    Task<decimal> TotalAsync(string customer);
                }
            }

            [AsyncSyncContract("internal-audit")]
            internal interface IAudit
            {
                Task RecordAsync(string entry);
            }
        }
        """;

    public const string GlobalNamespace = """
        using System.Threading.Tasks;
        using TypedRpc;

        [AsyncSyncContract("global")]
        internal interface IGlobal
        {
            Task<string> HelloAsync(string name);
        }
        """;

    /// <summary>
    /// A host of <see cref="Pricing"/>: a JSON context registered with UseJsonContext that lacks
    /// <c>Receipt</c> (one TRPC0022), the server and the client registered.
    /// </summary>
    public const string PricingHost = """
        using System.Collections.Generic;
        using System.Text.Json.Serialization;
        using System.Threading.Tasks;
        using Acme.Pricing;
        using TypedRpc;

        namespace Acme.Host;

        [JsonSerializable(typeof(QuoteRequest))]
        [JsonSerializable(typeof(Quote))]
        [JsonSerializable(typeof(PriceTick))]
        public sealed partial class PricingJsonContext : JsonSerializerContext;

        public sealed class PricingServer : PricingServiceBase
        {
            public override Task<Quote> GetQuoteAsync(QuoteRequest request, RpcServerCallContext context) => Task.FromResult(new Quote(request.Sku, 1m));
            public override Task<Receipt> PlaceOrderAsync(string orderId, decimal amount, RpcServerCallContext context) => Task.FromResult(new Receipt(orderId, amount));
            public override async IAsyncEnumerable<PriceTick> WatchAsync(string symbol, int count, RpcServerCallContext context) { await Task.Yield(); yield break; }
            public override Task CancelOrderAsync(string orderId, RpcServerCallContext context) => Task.CompletedTask;
        }

        public static class Setup
        {
            public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc) => rpc.UseJsonContext(PricingJsonContext.Default).AddServer<PricingServer>().AddClient<IPricingService>();

            public static int Twice(int value) { return value * 2; }
        }
        """;
}
