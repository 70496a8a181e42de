using System;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using TypedRpc.Generators.Tests.Infrastructure;
using Xunit;

namespace TypedRpc.Generators.Tests;

/// <summary>
/// TRPC0022: a contract type that no JSON context passed to <c>UseJsonContext</c> covers. Warned
/// when certain, silent when in doubt (the start-up check stays the authority).
/// </summary>
public sealed class JsonContextDiagnosticTests
{
    private const string Contract = """
        using System;
        using System.Collections.Generic;
        using System.Text.Json.Serialization;
        using System.Threading;
        using System.Threading.Tasks;
        using TypedRpc;

        namespace Shop;

        public sealed record QuoteRequest(string Sku, int Quantity);
        public sealed record Quote(string Sku, decimal Total);

        [AsyncSyncContract("pricing")]
        public interface IPricing
        {
            Task<Quote> GetQuoteAsync(QuoteRequest request, RpcCallOptions options, CancellationToken ct = default);
        }

        """;

    [Fact]
    public void MissingReplyType_IsReportedAtTheUseJsonContextCall()
    {
        var diagnostic = ExpectOne(Contract + """
            [JsonSerializable(typeof(QuoteRequest))]
            public sealed partial class ShopJsonContext : JsonSerializerContext;

            public static class Setup
            {
                public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc) => rpc.[|UseJsonContext(ShopJsonContext.Default)|].AddClient<IPricing>();
            }
            """);

        Assert.Equal("JSON context 'ShopJsonContext' has no metadata for 'Shop.Quote' (the reply of pricing/GetQuote); add [JsonSerializable(typeof(Shop.Quote))]", diagnostic.GetMessage());
    }

    [Fact]
    public void MissingParameterType_IsReported()
    {
        var diagnostic = ExpectOne(Contract + """
            [JsonSerializable(typeof(Quote))]
            public sealed partial class ShopJsonContext : JsonSerializerContext;

            public static class Setup
            {
                public static void Configure(ITypedRpcBuilder rpc)
                {
                    rpc.AddClient<IPricing>();
                    TypedRpcBuilderExtensions.[|UseJsonContext(rpc, context: ShopJsonContext.Default)|];
                }
            }
            """);

        Assert.Equal("JSON context 'ShopJsonContext' has no metadata for 'Shop.QuoteRequest' (parameter 'request' of pricing/GetQuote); add [JsonSerializable(typeof(Shop.QuoteRequest))]", diagnostic.GetMessage());
    }

    [Fact]
    public void EveryMissingType_IsReportedOnce_WithEveryPlaceItIsUsed()
    {
        var (diagnostics, span) = Run("""
            using System.Collections.Generic;
            using System.Text.Json.Serialization;
            using System.Threading.Tasks;
            using TypedRpc;

            namespace Shop;

            public sealed record Tick(string Symbol, decimal Price);
            public readonly record struct Money(decimal Amount);
            public sealed record Receipt(string Id);

            [AsyncSyncContract("ticker")]
            public interface ITicker
            {
                IAsyncEnumerable<Tick> WatchAsync(string symbol, Tick? since);
                ValueTask<RpcResult<Receipt>> BuyAsync(Money? limit, List<Tick> basket);
                Task StopAsync(int id);
            }

            [JsonSerializable(typeof(int))]
            public sealed partial class TickerJsonContext : JsonSerializerContext;

            public static class Setup
            {
                public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc) => rpc.[|UseJsonContext(TickerJsonContext.Default)|].AddClient<ITicker>().AddClient<ITicker>();
            }
            """);

        Assert.All(diagnostics, d => Assert.Equal(span, d.Location.SourceSpan));
        Assert.Equal(new[]
        {
            "JSON context 'TickerJsonContext' has no metadata for 'Shop.Money?' (parameter 'limit' of ticker/Buy); add [JsonSerializable(typeof(Shop.Money?))]",
            "JSON context 'TickerJsonContext' has no metadata for 'Shop.Receipt' (the reply of ticker/Buy); add [JsonSerializable(typeof(Shop.Receipt))]",
            "JSON context 'TickerJsonContext' has no metadata for 'Shop.Tick' (parameter 'since' of ticker/Watch, the stream items of ticker/Watch); add [JsonSerializable(typeof(Shop.Tick))]",
            "JSON context 'TickerJsonContext' has no metadata for 'System.Collections.Generic.List<Shop.Tick>' (parameter 'basket' of ticker/Buy); add [JsonSerializable(typeof(System.Collections.Generic.List<Shop.Tick>))]",
        }, diagnostics.Select(d => d.GetMessage()));
    }

    [Theory]
    [InlineData("[JsonSerializable(typeof(Quote))] [JsonSerializable(typeof(QuoteRequest))]")]
    [InlineData("[JsonSerializable(typeof(Envelope))]")] // reached through properties, a field and a constructor
    [InlineData("[JsonSerializable(typeof(List<Quote>))] [JsonSerializable(typeof(QuoteRequest[]))]")]
    [InlineData("[JsonSerializable(typeof(Dictionary<string, QuoteRequest>))] [JsonSerializable(typeof(Quote[][]))]")]
    [InlineData("[JsonSerializable(typeof(Batch))]")] // a base class and an IEnumerable<T>
    [InlineData("[JsonSerializable(typeof(Base))] [JsonSerializable(typeof(Quote))]")] // a [JsonDerivedType]
    public void CoveredTypes_AreNotReported(string attributes) => ExpectNone(Contract + $$"""
        public sealed class Envelope
        {
            public Quote? Reply { get; set; }
            private readonly Holder _holder = new(null!);
            public override string ToString() => _holder.ToString();
        }
        public sealed class Holder(QuoteRequest request) { public override string ToString() => request.ToString(); }
        public sealed class Batch : List<Quote>, IEnumerable<QuoteRequest>
        {
            IEnumerator<QuoteRequest> IEnumerable<QuoteRequest>.GetEnumerator() => throw new NotSupportedException();
        }
        [JsonDerivedType(typeof(Derived))] public abstract class Base;
        public sealed class Derived : Base { public QuoteRequest? Request { get; set; } }

        {{attributes}}
        public sealed partial class ShopJsonContext : JsonSerializerContext;

        public static class Setup
        {
            public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc) => rpc.UseJsonContext(ShopJsonContext.Default).AddClient<IPricing>();
        }
        """);

    [Fact]
    public void BuiltInPrimitives_NeedNoEntry() => ExpectNone("""
        using System;
        using System.Collections.Generic;
        using System.Text.Json;
        using System.Text.Json.Serialization;
        using System.Threading;
        using System.Threading.Tasks;
        using TypedRpc;

        namespace Shop;

        [AsyncSyncContract("numbers")]
        public interface INumbers
        {
            Task<int> AddAsync(int a, long? b, decimal c, Guid id, string? text, DateTimeOffset? at, TimeSpan span, Uri uri, CancellationToken ct);
            ValueTask<DateOnly?> DayAsync(byte[] blob, string[] names, int[] ids, long[] big, JsonElement raw, char c, bool flag);
            IAsyncEnumerable<double> StreamAsync(float f, ushort u, TimeOnly t, DateTime d);
            Task<RpcResult<JsonElement>> AnyAsync(sbyte s, uint ui, ulong ul, short sh);
            Task PingAsync();
        }

        [JsonSerializable(typeof(DayOfWeek))]
        public sealed partial class EmptyJsonContext : JsonSerializerContext;

        public static class Setup
        {
            public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc) => rpc.UseJsonContext(EmptyJsonContext.Default).AddClient<INumbers>();
        }
        """);

    [Fact]
    public void WithoutUseJsonContext_NothingIsReported() => ExpectNone(Contract + """
        [JsonSerializable(typeof(int))]
        public sealed partial class ShopJsonContext : JsonSerializerContext;

        public static class Setup
        {
            public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc) => rpc.AddClient<IPricing>();
        }
        """);

    [Fact]
    public void AContextTypedOnlyAsJsonSerializerContext_CouldCoverAnything_SoNothingIsReported() => ExpectNone(Contract + """
        [JsonSerializable(typeof(int))]
        public sealed partial class ShopJsonContext : JsonSerializerContext;

        public static class Setup
        {
            public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc, JsonSerializerContext other) =>
                rpc.UseJsonContext(ShopJsonContext.Default).UseJsonContext(other).AddClient<IPricing>();
        }
        """);

    [Fact]
    public void TwoContexts_CoverTheirUnion() => ExpectNone(Contract + """
        [JsonSerializable(typeof(Quote))]
        public sealed partial class ReplyJsonContext : JsonSerializerContext;

        [JsonSerializable(typeof(QuoteRequest))]
        public sealed partial class RequestJsonContext : JsonSerializerContext;

        public static class Setup
        {
            public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc) => rpc.UseJsonContext(ReplyJsonContext.Default).AddClient<IPricing>();
            public static ITypedRpcBuilder More(ITypedRpcBuilder rpc) => rpc.UseJsonContext(RequestJsonContext.Default);
        }
        """);

    [Fact]
    public void TwoContexts_BothNamed_ReportedAtTheFirstCall()
    {
        var diagnostic = ExpectOne(Contract + """
            [JsonSerializable(typeof(Quote))]
            public sealed partial class ReplyJsonContext : JsonSerializerContext;

            [JsonSerializable(typeof(int))]
            public sealed partial class OtherJsonContext : JsonSerializerContext;

            public static class Setup
            {
                public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc) => rpc.[|UseJsonContext(ReplyJsonContext.Default)|].UseJsonContext(OtherJsonContext.Default).AddClient<IPricing>();
            }
            """);

        Assert.Equal("JSON contexts 'ReplyJsonContext' and 'OtherJsonContext' have no metadata for 'Shop.QuoteRequest' (parameter 'request' of pricing/GetQuote); add [JsonSerializable(typeof(Shop.QuoteRequest))]", diagnostic.GetMessage());
    }

    [Theory]
    [InlineData("PricingBase")] // the generated server base, which the generator itself does not see
    [InlineData("IPricing")] // the contract implemented directly
    public void AServerRegisteredWithAddServer_HasItsContractChecked(string baseType)
    {
        var members = baseType == "PricingBase"
            ? "public override Task<Quote> GetQuoteAsync(QuoteRequest request, RpcServerCallContext context) => Task.FromResult(new Quote(request.Sku, 1m));"
            : "public Task<Quote> GetQuoteAsync(QuoteRequest request, RpcCallOptions options, CancellationToken ct) => Task.FromResult(new Quote(request.Sku, 1m));";
        var diagnostic = ExpectOne(Contract + $$"""
            [JsonSerializable(typeof(QuoteRequest))]
            public sealed partial class ShopJsonContext : JsonSerializerContext;

            public sealed class PricingServer : {{baseType}}
            {
                {{members}}
            }

            public static class Setup
            {
                public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc) => rpc.[|UseJsonContext(ShopJsonContext.Default)|].AddServer<PricingServer>();
            }
            """, compiles: baseType == "PricingBase");

        Assert.Equal("JSON context 'ShopJsonContext' has no metadata for 'Shop.Quote' (the reply of pricing/GetQuote); add [JsonSerializable(typeof(Shop.Quote))]", diagnostic.GetMessage());
    }

    [Theory]
    [InlineData("AddServer<PricingServer>()")] // the generated base, from the referenced assembly
    [InlineData("AddClient<IPricingService>()")]
    public void AContractFromAReferencedAssembly_IsReadFromItsSymbols(string registration)
    {
        var (_, contracts, contractDiagnostics) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(new[] { TestContracts.Pricing }, "Acme.Contracts"));
        Assert.Empty(contractDiagnostics);
        using var stream = new MemoryStream();
        Assert.True(contracts.Emit(stream).Success);
        var reference = MetadataReference.CreateFromImage(stream.ToArray());

        // TestContracts.PricingHost, registering only the contract under test.
        var host = TestContracts.PricingHost
            .Replace("PricingJsonContext", "HostJsonContext", StringComparison.Ordinal)
            .Replace(".AddServer<PricingServer>().AddClient<IPricingService>()", "." + registration, StringComparison.Ordinal);
        Assert.Contains("." + registration + ";", host, StringComparison.Ordinal);
        var (_, _, diagnostics) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(new[] { host }, "Acme.Host", new[] { reference }));

        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("TRPC0022", diagnostic.Id);
        Assert.Equal("JSON context 'HostJsonContext' has no metadata for 'Acme.Pricing.Receipt' (the reply of pricing/PlaceOrder); add [JsonSerializable(typeof(Acme.Pricing.Receipt))]", diagnostic.GetMessage());
    }

    [Fact]
    public void PragmaAroundTheCall_Suppresses()
    {
        var compilation = GeneratorHarness.CreateCompilation(Contract + """
            [JsonSerializable(typeof(QuoteRequest))]
            public sealed partial class ShopJsonContext : JsonSerializerContext;

            public static class Setup
            {
            #pragma warning disable TRPC0022 // Quote comes from a context registered by another library
                public static ITypedRpcBuilder Configure(ITypedRpcBuilder rpc) => rpc.UseJsonContext(ShopJsonContext.Default).AddClient<IPricing>();
            #pragma warning restore TRPC0022
            }
            """);
        var (_, output, diagnostics) = GeneratorHarness.Run(compilation);

        Assert.True(CompilationWithAnalyzersShim.ApplySuppressions(output, Assert.Single(diagnostics)).IsSuppressed);
    }

    private static void ExpectNone(string source)
    {
        var (_, output, diagnostics) = GeneratorHarness.Run(source);
        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.CompilerProblems(JsonContextStandIn.AddTo(output)));
    }

    private static Diagnostic ExpectOne(string markup, bool compiles = true)
    {
        var (diagnostics, span) = Run(markup, compiles);
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal(span, diagnostic.Location.SourceSpan);
        return diagnostic;
    }

    private static (Diagnostic[] Diagnostics, Microsoft.CodeAnalysis.Text.TextSpan Span) Run(string markup, bool compiles = true)
    {
        var (source, span) = Markup.Parse(markup);
        var (_, output, diagnostics) = GeneratorHarness.Run(source);
        Assert.All(diagnostics, d =>
        {
            Assert.Equal("TRPC0022", d.Id);
            Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
            Assert.Equal("File0.cs", d.Location.SourceTree?.FilePath);
        });
        if (compiles)
        {
            // The example is otherwise sound: the warning is the only problem.
            Assert.Empty(GeneratorHarness.CompilerProblems(JsonContextStandIn.AddTo(output)));
        }

        return (diagnostics.ToArray(), span);
    }
}
