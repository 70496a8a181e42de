using System;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.AspNetCore.Tests;

/// <summary>
/// The HTTP edge when payloads go through a source-generated JSON context (UseJsonContext, as a
/// Native AOT service has it): result bodies are written by that serializer, the same JSON.
/// </summary>
public sealed class JsonContextEdgeTests : IAsyncLifetime
{
    private readonly EdgeHost _host = new() { ConfigureRpc = rpc => rpc.UseJsonContext(EdgeJsonContext.Default) };
    private HttpClient _a1 = null!;

    public async Task InitializeAsync()
    {
        await _host.StartServerAsync();
        _a1 = await _host.StartEdgeAsync("a-1");
    }

    public async Task DisposeAsync()
    {
        _a1.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task ACompletedResult_Is200WithItsJson()
    {
        using var response = await _a1.PostAsync("/orders/o-1", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("o-1", body.GetProperty("orderId").GetString());
        Assert.Equal(42, body.GetProperty("amount").GetInt32());
    }

    [Fact]
    public async Task APolledResult_IsWrittenAsItsRuntimeType_ThroughTheContext()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders/o-2?work=600");
        request.Headers.Add("Prefer", "wait=0");
        using var accepted = await _a1.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        using var poll = new HttpRequestMessage(HttpMethod.Get, accepted.Headers.Location);
        poll.Headers.Add("Prefer", "wait=5");
        using var done = await _a1.SendAsync(poll);

        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal(new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" }, done.Content.Headers.ContentType);
        var body = JsonDocument.Parse(await done.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("o-2", body.GetProperty("orderId").GetString());
        Assert.Equal("server", body.GetProperty("placedBy").GetString());
    }
}

/// <summary>The edge contract's types, generated at compile time.</summary>
[JsonSerializable(typeof(Order))]
internal sealed partial class EdgeJsonContext : JsonSerializerContext;
