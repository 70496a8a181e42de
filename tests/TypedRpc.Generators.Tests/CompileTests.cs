using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using TypedRpc.Generators.Tests.Infrastructure;
using Xunit;

namespace TypedRpc.Generators.Tests;

/// <summary>Generated code compiles without a single warning, in one assembly and across several.</summary>
public sealed class CompileTests
{
    private const string ShapesServer = """
        using System;
        using System.Collections.Generic;
        using System.Threading.Tasks;
        using TypedRpc;

        namespace Shapes.Deep.Name.Server;

        public sealed class ShapesService : ShapesBase
        {
            public override Task PingAsync(RpcServerCallContext context) => Task.CompletedTask;
            public override ValueTask TouchAsync(string name, RpcServerCallContext context) => default;
            public override Task<int> AddAsync(int a, int b, RpcServerCallContext context) => Task.FromResult(a + b);
            public override ValueTask<string?> EchoAsync(string? text, RpcServerCallContext context) => new(text);
            public override Task<Item> RoundTripAsync(Guid id, Item item, RpcServerCallContext context) => Task.FromResult(item);
            public override ValueTask<List<int>> RangeAsync(long start, int count, RpcServerCallContext context) => new(new List<int>());
            public override async IAsyncEnumerable<Item?> StreamAsync(Color color, IReadOnlyList<Item> seed, RpcServerCallContext context)
            {
                foreach (var item in seed) { await Task.Yield(); yield return item; }
            }
            public override Task<string> KeywordsAsync(string @event, int @class, string context, string Key, string writer, RpcServerCallContext callContext) => Task.FromResult(@event);
            public override Task<IReadOnlyDictionary<string, Item?>?> OptionalAsync(string? maybe, int count, decimal rate, Color color, string label, double ratio, long big, char c, bool flag, Guid? id, float f, RpcServerCallContext context) =>
                Task.FromResult<IReadOnlyDictionary<string, Item?>?>(null);
            public override Task<(int Count, string Name)> TupleAsync(Dictionary<Guid, Item[]> index, byte[]? raw, RpcServerCallContext context) => Task.FromResult((1, "x"));
        }
        """;

    [Theory]
    [InlineData(TestContracts.Pricing)]
    [InlineData(TestContracts.Nested)]
    [InlineData(TestContracts.GlobalNamespace)]
    public void EachContract_CompilesWithZeroWarnings(string source)
    {
        var (result, output, diagnostics) = GeneratorHarness.Run(source);

        Assert.Empty(diagnostics);
        Assert.NotEmpty(GeneratorHarness.Sources(result));
        Assert.Empty(GeneratorHarness.CompilerProblems(output));
    }

    [Fact]
    public void EverySupportedShape_WithAServerImplementation_CompilesWithZeroWarnings()
    {
        var (_, output, diagnostics) = GeneratorHarness.Run(TestContracts.AllShapes, ShapesServer);

        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.CompilerProblems(output));
    }

    [Fact]
    public void ContractsAssembly_ReferencedBySeparateClientAndServerAssemblies_Compiles()
    {
        // The generator runs in the contracts assembly only; clients and servers just reference it.
        var (_, contracts, diagnostics) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(new[] { TestContracts.Pricing }, "Acme.Contracts"));
        Assert.Empty(diagnostics);
        var contractsReference = Emit(contracts);

        var client = GeneratorHarness.CreateCompilation(new[] { """
            using System.Threading.Tasks;
            using Acme.Pricing;
            using TypedRpc;

            public static class ClientProgram
            {
                public static Task<Quote> Quote(IRpcInvoker invoker)
                {
                    IPricingService pricing = RpcContracts.Get<IPricingService>().CreateClient(invoker);
                    IPricingService direct = new PricingServiceClient(invoker);
                    return pricing.GetQuoteAsync(new QuoteRequest("sku", 1));
                }
            }
            """ }, "Acme.Client", new[] { contractsReference });
        var server = GeneratorHarness.CreateCompilation(new[] { """
            using System.Collections.Generic;
            using System.Threading.Tasks;
            using Acme.Pricing;
            using TypedRpc;

            public sealed class PricingServer : PricingServiceBase
            {
                public override Task<Quote> GetQuoteAsync(QuoteRequest request, RpcServerCallContext context) => Task.FromResult(new Quote(request.Sku, 1m));
                public override Task<Receipt> PlaceOrderAsync(string orderId, decimal amount, RpcServerCallContext context) => Task.FromResult(new Receipt(orderId, amount));
                public override async IAsyncEnumerable<PriceTick> WatchAsync(string symbol, int count, RpcServerCallContext context) { await Task.Yield(); yield break; }
                public override Task CancelOrderAsync(string orderId, RpcServerCallContext context) => Task.CompletedTask;
                public static IRpcServiceBinding Binding() => new PricingServer();
            }
            """ }, "Acme.Server", new[] { contractsReference });

        // The client and server compilations run the generator too (as in a real build); it must add nothing.
        var (clientResult, clientOutput, clientDiagnostics) = GeneratorHarness.Run(client);
        var (serverResult, serverOutput, serverDiagnostics) = GeneratorHarness.Run(server);
        Assert.Empty(clientDiagnostics);
        Assert.Empty(serverDiagnostics);
        Assert.Empty(GeneratorHarness.Sources(clientResult));
        Assert.Empty(GeneratorHarness.Sources(serverResult));
        Assert.Empty(GeneratorHarness.CompilerProblems(clientOutput));
        Assert.Empty(GeneratorHarness.CompilerProblems(serverOutput));
        Assert.True(clientOutput.Emit(Stream.Null).Success);
        Assert.True(serverOutput.Emit(Stream.Null).Success);
    }

    [Fact]
    public void ContractsUsingObsoleteTypes_StillCompileWithoutWarnings()
    {
        var (_, output, diagnostics) = GeneratorHarness.Run("""
            using System;
            using System.Threading.Tasks;
            using TypedRpc;

            namespace Legacy;

            [Obsolete("use V2")] public sealed record OldRequest(string Id);

            #pragma warning disable CS0618
            [AsyncSyncContract("legacy")]
            public interface ILegacy
            {
                Task<OldRequest> GetAsync(OldRequest request);
            }
            #pragma warning restore CS0618
            """);

        Assert.Empty(diagnostics);
        Assert.Empty(GeneratorHarness.CompilerProblems(output));
    }

    private static MetadataReference Emit(Compilation compilation)
    {
        using var stream = new MemoryStream();
        var emit = compilation.Emit(stream);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        return MetadataReference.CreateFromImage(stream.ToArray());
    }
}
