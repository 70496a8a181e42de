using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TypedRpc.Hosting;
using TypedRpc.Tests.Support;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// NaN and infinities cannot be written as JSON numbers: the caller learns which argument (or that
/// the server's reply) held one, in words, rather than System.Text.Json's advice about
/// <c>JsonNumberHandling</c>.
/// </summary>
public sealed class NonFiniteNumberTests : IAsyncLifetime
{
    private const string Reason = "which JSON cannot carry (System.Text.Json writes only finite numbers).";
    private static readonly PriceQuote Quote = new("sku-1", 9.5);
    private readonly TestState _state = new();
    private readonly LogRecorder _logs = new();
    private ServiceProvider _provider = null!;
    private TypedRpcRuntime _runtime = null!;
    private INumbersService _client = null!;

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection();
        services.AddSingleton(_state);
        services.AddLogging(logging => logging.AddProvider(_logs));
        services.AddTypedRpc(o => o.InstanceId = "numbers-1").UseInMemoryTransport().UseInMemoryOwnershipStore()
            .AddClient<INumbersService>().AddServer<NumbersService>();
        _provider = services.BuildServiceProvider();
        _runtime = _provider.GetRequiredService<TypedRpcRuntime>();
        await _runtime.StartAsync(CancellationToken.None);
        _client = _provider.GetRequiredService<INumbersService>();
    }

    public async Task DisposeAsync()
    {
        await _runtime.StopAsync(CancellationToken.None);
        await _provider.DisposeAsync();
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    public async Task ANonFiniteArgument_IsInvalidArgument_NamingIt(double price, string text)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _client.PriceAsync(price, 1f, Quote, replyNaN: false));

        Assert.Equal(RpcStatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains($"Argument 'price' is {text}, {Reason}", ex.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("AllowNamedFloatingPointLiterals", ex.Status.Detail, StringComparison.Ordinal);
        Assert.IsType<ArgumentException>(ex.InnerException);
        Assert.Equal(0, _state.Executions);
    }

    [Fact]
    public async Task ANonFiniteFloatArgument_AfterAFiniteOne_IsTheOneNamed()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _client.PriceAsync(2.5, float.PositiveInfinity, Quote, replyNaN: false));

        Assert.Equal(RpcStatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains($"Argument 'weight' is Infinity, {Reason}", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANaNInsideAnArgument_NamesTheArgument()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _client.PriceAsync(2.5, 1f, Quote with { Amount = double.NaN }, replyNaN: false));

        Assert.Equal(RpcStatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains($"Argument 'quote' holds a non-finite number (NaN or Infinity), {Reason}", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, _state.Executions);
    }

    [Fact]
    public async Task ANaNArgument_OfAOneArgumentMethod_IsNamed()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _client.NegateAsync(double.NaN));

        Assert.Equal(RpcStatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains($"Argument 'value' is NaN, {Reason}", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(-2.5, await _client.NegateAsync(2.5));
    }

    [Fact]
    public async Task FiniteNumbers_GoThrough()
    {
        Assert.Equal(5.0, await _client.PriceAsync(2.5, 2f, Quote, replyNaN: false));
    }

    [Fact]
    public async Task ANaNReplyValue_IsInternal_SayingSo_AndLoggedAsAHandlerFailure()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _client.PriceAsync(2.5, 1f, Quote, replyNaN: true));

        Assert.Equal(RpcStatusCode.Internal, ex.StatusCode);
        Assert.Equal($"The reply value is NaN, {Reason}", ex.Status.Detail);
        var logged = Assert.Single(_logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("numbers/Price", logged.Message, StringComparison.Ordinal);
        Assert.Contains($"The reply value is NaN, {Reason}", logged.Exception!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStreamItemHoldingNaN_EndsTheStreamInternal_AfterTheItemsBeforeIt()
    {
        var received = new System.Collections.Generic.List<PriceQuote>();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var quote in _client.QuotesAsync(3, nanAt: 1))
            {
                received.Add(quote);
            }
        });

        Assert.Equal(new[] { "sku-0" }, received.Select(q => q.Sku));
        Assert.Equal(RpcStatusCode.Internal, ex.StatusCode);
        Assert.Equal($"The reply value holds a non-finite number (NaN or Infinity), {Reason}", ex.Status.Detail);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Error && e.Exception?.ToString().Contains(Reason, StringComparison.Ordinal) == true);
    }

    [Fact]
    public void AnyOtherWritingFailure_NamesTheArgument_AndKeepsTheSerializersText()
    {
        var failure = RpcArgumentsWriter.Failed("order", new object(), new NotSupportedException("no converter"));

        Assert.Equal("Argument 'order' could not be written: no converter", failure.Message);
        Assert.IsType<NotSupportedException>(failure.InnerException);
    }
}
