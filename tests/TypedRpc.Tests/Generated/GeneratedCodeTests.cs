using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Serialization;
using TypedRpc.Tests.Support;
using Xunit;

namespace TypedRpc.Tests.Generated;

/// <summary>The generated proxy, argument structs, server base and dispatcher working together.</summary>
public sealed class GeneratedCodeTests
{
    private readonly ShapesService _service = new();
    private readonly LoopbackInvoker _invoker;
    private readonly IShapes _client;

    public GeneratedCodeTests()
    {
        _invoker = new LoopbackInvoker(_service);
        _client = RpcContracts.Get<IShapes>().CreateClient(_invoker);
    }

    [Fact]
    public async Task NoResultMethods_AreDispatchedAndAcknowledged()
    {
        await _client.PingAsync();
        await _client.TouchAsync("door", CancellationToken.None);

        Assert.Equal(new[] { "Ping", "Touch:door" }, _service.Calls);
        Assert.Equal("{}", _invoker.Sent[0].Json);
        Assert.Equal("{\"name\":\"door\"}", _invoker.Sent[1].Json);
    }

    [Fact]
    public async Task ValueMethods_RoundTripArgumentsAndResults()
    {
        Assert.Equal(5, await _client.AddAsync(2, 3));
        Assert.Equal("{\"a\":2,\"b\":3}", _invoker.Sent[0].Json);
        Assert.Equal("hi", await _client.EchoAsync("hi", RpcCallOptions.Default));
        Assert.Null(await _client.EchoAsync(null, RpcCallOptions.Default));
    }

    [Fact]
    public async Task CallOptionsAndToken_StayOnTheCallerAndReachTheInvoker()
    {
        using var cts = new CancellationTokenSource();
        var options = RpcCallOptions.Default.WithTimeout(TimeSpan.FromSeconds(3)).WithIdempotencyKey("k-1");

        await _client.EchoAsync("x", options, cts.Token);

        var sent = _invoker.Sent.Single();
        Assert.Equal("{\"text\":\"x\"}", sent.Json);
        Assert.Equal(TimeSpan.FromSeconds(3), sent.Options.Timeout);
        Assert.Equal("k-1", sent.Options.IdempotencyKey);
        Assert.Equal(cts.Token, sent.CancellationToken);
    }

    [Fact]
    public async Task RpcResultMethods_CarryEveryDataTypeAndTheKey()
    {
        var id = Guid.NewGuid();
        var payload = new Payload("p", new[] { 1, 2 }, new Dictionary<string, decimal> { ["a"] = 1.25m }, Region.Asia, Guid.Empty,
            new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)),
            TimeSpan.FromMinutes(90), 79228162514264337593543950335m, new byte[] { 0, 255, 7 }, null);

        var result = await _client.RoundTripAsync(id, payload);

        Assert.True(result.IsCompleted);
        var value = result.Value;
        Assert.Equal(id, value.Id);
        Assert.Equal(payload.Values, value.Values);
        Assert.Equal(payload.Prices, value.Prices);
        Assert.Equal(payload.At, value.At);
        Assert.Equal(payload.AtOffset, value.AtOffset);
        Assert.Equal(payload.Span, value.Span);
        Assert.Equal(payload.Amount, value.Amount);
        Assert.Equal(payload.Blob, value.Blob);
        Assert.Null(value.Maybe);
        Assert.Equal(id.ToString(null, System.Globalization.CultureInfo.InvariantCulture), _invoker.Sent[0].Key);
    }

    [Fact]
    public async Task RpcResultMethods_TurnAServerStatusIntoAFailedResult()
    {
        var payload = new Payload("fail", Array.Empty<int>(), new(), Region.Europe, Guid.Empty, default, default, default, 0, Array.Empty<byte>(), 1);

        var result = await _client.RoundTripAsync(Guid.NewGuid(), payload);

        Assert.True(result.IsFailed);
        Assert.Equal(RpcStatusCode.FailedPrecondition, result.Status.StatusCode);
        Assert.Equal("asked to fail", result.Status.Detail);
    }

    [Fact]
    public async Task ValueTaskOfRpcResult_Works()
    {
        var result = await _client.RangeAsync(10, 4);

        Assert.Equal(new[] { 10, 11, 12, 13 }, result.Value);
    }

    [Fact]
    public async Task StreamingMethods_DeliverEveryItemInOrder()
    {
        var items = new List<int>();
        await foreach (var item in _client.CountAsync(Region.Europe, 5))
        {
            items.Add(item);
        }

        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, items);
        Assert.Equal("Europe", _invoker.Sent[0].Key);
    }

    [Fact]
    public async Task KeywordAndCollidingParameterNames_AreEscapedAndKeptApart()
    {
        var text = await _client.KeywordsAsync("e", 7, "ctx", "key", "w");

        Assert.Equal("e|7|ctx|key|w|Keywords", text);
        Assert.Equal("{\"event\":\"e\",\"class\":7,\"context\":\"ctx\",\"Key\":\"key\",\"writer\":\"w\"}", _invoker.Sent[0].Json);
    }

    [Fact]
    public async Task MissingOptionalArguments_TakeTheirDeclaredDefaults()
    {
        var call = new CapturingCall(ShapesDescriptor.OptionalMethod, Encoding.UTF8.GetBytes("{}"), _invoker.Serializer);

        await ((IRpcServiceBinding)_service).DispatchAsync(call);

        var reply = JsonSerializer.Deserialize<string[]>(call.SingleReply());
        Assert.Equal(new[] { "<null>", "2", "1.5", "Asia", "x\"y" }, reply);
    }

    [Theory]
    [InlineData("", "not valid JSON")]
    [InlineData("[1,2]", "must be a JSON object")]
    [InlineData("{\"a\":1}", "Argument 'b' is missing")]
    [InlineData("{\"a\":1,\"b\":\"two\"}", "Argument 'b' is not a valid Int32")]
    [InlineData("{\"a\":1,\"b\":2,\"a\":3}", "Argument 'a' appears more than once")]
    [InlineData("{\"a\":1,\"b\":2} {}", "not valid JSON")]
    [InlineData("{\"a\":1,\"b\":2", "Argument 'b'")]
    [InlineData("{\"a\":1,\"b\":2,", "not valid JSON")]
    [InlineData("{\"a\":1,\"b\":null}", "Argument 'b' is not a valid Int32")]
    [InlineData("\u00ff\u00fe", "not valid JSON")]
    public async Task MalformedArguments_AreInvalidArgumentNotCrashes(string json, string expected)
    {
        var call = new CapturingCall(ShapesDescriptor.AddMethod, Encoding.Latin1.GetBytes(json), _invoker.Serializer);

        var ex = await Assert.ThrowsAnyAsync<RpcException>(async () => await ((IRpcServiceBinding)_service).DispatchAsync(call));

        Assert.Equal(RpcStatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(expected, ex.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(call.Replies);
    }

    [Fact]
    public async Task NullForANonNullableReference_IsRefused()
    {
        var call = new CapturingCall(ShapesDescriptor.TouchMethod, Encoding.UTF8.GetBytes("{\"name\":null}"), _invoker.Serializer);

        var ex = await Assert.ThrowsAnyAsync<RpcException>(async () => await ((IRpcServiceBinding)_service).DispatchAsync(call));

        Assert.Equal(RpcStatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("'name' must not be null", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownArguments_FromANewerCaller_AreSkipped()
    {
        var call = new CapturingCall(ShapesDescriptor.AddMethod, Encoding.UTF8.GetBytes("{\"extra\":{\"deep\":[1,{\"x\":2}]},\"a\":1,\"b\":2}"), _invoker.Serializer);

        await ((IRpcServiceBinding)_service).DispatchAsync(call);

        Assert.Equal("3", Encoding.UTF8.GetString(call.SingleReply()));
    }

    [Fact]
    public async Task AMethodOfAnotherService_IsNotFound()
    {
        var foreign = Quickstart.Contracts.PricingServiceDescriptor.GetQuoteMethod;
        var call = new CapturingCall(foreign, Encoding.UTF8.GetBytes("{}"), _invoker.Serializer);

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await ((IRpcServiceBinding)_service).DispatchAsync(call));

        Assert.Equal(RpcStatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task NestedAndGlobalNamespaceContracts_Work()
    {
        var nested = RpcContracts.Get<Outer.INested>().CreateClient(new LoopbackInvoker(new NestedService()));
        var global = RpcContracts.Get<IGlobalContract>().CreateClient(new LoopbackInvoker(new GlobalService()));

        Assert.Equal(1_000_000_000_005L, await nested.NowAsync(5));
        Assert.Equal("hello ada", await global.HelloAsync("ada"));
    }
}
