using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.AspNetCore.Tests;

/// <summary>The HTTP edge over a real Kestrel listener and a real HTTP client.</summary>
public sealed class EdgeTests : IAsyncLifetime
{
    private readonly EdgeHost _host = new();
    private HttpClient _a1 = null!;
    private HttpClient _a2 = null!;

    public async Task InitializeAsync()
    {
        await _host.StartServerAsync();
        _a1 = await _host.StartEdgeAsync("a-1");
        _a2 = await _host.StartEdgeAsync("a-2");
    }

    public async Task DisposeAsync()
    {
        _a1.Dispose();
        _a2.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task ACompletedResult_Is200WithItsJson()
    {
        using var response = await _a1.PostAsync("/orders/o-1", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await Json(response);
        Assert.Equal("o-1", body.GetProperty("orderId").GetString());
        Assert.Equal(42, body.GetProperty("amount").GetInt32());
    }

    [Fact]
    public async Task PreferWait_Is202WithLocationAndRetryAfter_ThenTheResultIsPolled()
    {
        using var request = Post("/orders/o-2?work=1500", prefer: "wait=1");
        var watch = Stopwatch.StartNew();
        using var accepted = await _a1.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.InRange(watch.ElapsedMilliseconds, 900, 1_450);
        Assert.Equal("wait=1", Header(accepted, "Preference-Applied"));
        Assert.Equal("1", Header(accepted, "Retry-After"));
        var location = accepted.Headers.Location!.ToString();
        Assert.StartsWith("/rpc-results/", location, StringComparison.Ordinal);
        Assert.Equal(location, (await Json(accepted)).GetProperty("location").GetString());

        using var stillPending = await _a1.GetAsync(location);
        Assert.Equal(HttpStatusCode.Accepted, stillPending.StatusCode);

        using var poll = Get(location, prefer: "wait=5");
        using var done = await _a1.SendAsync(poll);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal("o-2", (await Json(done)).GetProperty("orderId").GetString());
        Assert.Equal("wait=5", Header(done, "Preference-Applied"));
    }

    [Fact]
    public async Task RespondAsync_AnswersAtOnce_AndTheWorkStillRuns()
    {
        using var request = Post("/orders/o-3?work=800", prefer: "respond-async");
        var watch = Stopwatch.StartNew();
        using var accepted = await _a1.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.True(watch.ElapsedMilliseconds < 700, $"respond-async took {watch.ElapsedMilliseconds} ms");
        Assert.Equal("respond-async", Header(accepted, "Preference-Applied"));
        using var poll = Get(accepted.Headers.Location!.ToString(), prefer: "wait=5");
        using var done = await _a1.SendAsync(poll);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal(1, _host.State.Executions["o-3"]);
    }

    [Fact]
    public async Task AResultIsReadThroughAnotherInstance_ButNotWithAnotherKey()
    {
        using var request = Post("/orders/o-4?work=300", prefer: "respond-async");
        using var accepted = await _a1.SendAsync(request);
        var location = accepted.Headers.Location!.ToString();

        using var poll = Get(location, prefer: "wait=5");
        using var done = await _a2.SendAsync(poll);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);

        using var stranger = await _host.StartEdgeAsync("a-3", o => o.ResultSigningKey = Convert.ToBase64String(new byte[32]));
        using var refused = await stranger.GetAsync(location);
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
    }

    [Fact]
    public async Task ATaskMethodPastItsWait_Is504_PointingAtTheResultThatWillCome()
    {
        using var request = Get("/quotes/q-1?work=1500", prefer: "wait=1");
        using var response = await _a1.SendAsync(request);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await Json(response);
        Assert.Equal(504, problem.GetProperty("status").GetInt32());
        Assert.Equal("DeadlineExceeded", problem.GetProperty("rpcStatus").GetString());
        var location = problem.GetProperty("resultLocation").GetString()!;

        using var poll = Get(location, prefer: "wait=5");
        using var later = await _a1.SendAsync(poll);
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
        Assert.Equal("q-1", (await Json(later)).GetProperty("orderId").GetString());
    }

    [Theory]
    [InlineData("invalid", HttpStatusCode.BadRequest, "InvalidArgument", "amount must be positive")]
    [InlineData("missing", HttpStatusCode.NotFound, "NotFound", "no such order")]
    [InlineData("busy", HttpStatusCode.TooManyRequests, "ResourceExhausted", "slow down")]
    [InlineData("down", HttpStatusCode.ServiceUnavailable, "Unavailable", "The service is unavailable; retry later.")]
    [InlineData("bug", HttpStatusCode.InternalServerError, "Internal", "The call failed.")]
    public async Task Statuses_AreProblemDetails_WithoutInternalDetail(string kind, HttpStatusCode expected, string rpcStatus, string detail)
    {
        using var response = await _a1.PostAsync("/fail/" + kind, null);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        Assert.Equal(rpcStatus, problem.GetProperty("rpcStatus").GetString());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("secret", text, StringComparison.Ordinal);
        Assert.DoesNotContain("db-7", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANoResultCall_Is200WithAnEmptyBody()
    {
        using var response = await _a1.PostAsync("/fail/none", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(string.Empty, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnIdempotentRetryThroughAnotherInstance_ReachesTheSameCall_AndRunsOnce()
    {
        // The upstream's first try reaches a-1 and gives up waiting while the work runs…
        using var first = Post("/orders/o-5?work=1200", prefer: "wait=0", key: "\"order-o-5\"");
        using var accepted = await _a1.SendAsync(first);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        // …and its retry, with the same key, reaches a-2: it takes the call over and gets the result.
        using var retry = Post("/orders/o-5?work=1200", prefer: "wait=5", key: "\"order-o-5\"");
        using var done = await _a2.SendAsync(retry);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal("o-5", (await Json(done)).GetProperty("orderId").GetString());

        // A third try after completion is answered from the stored result.
        using var again = Post("/orders/o-5?work=1200", key: "order-o-5");
        using var stored = await _a1.SendAsync(again);
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.Equal(1, _host.State.Executions["o-5"]);
    }

    [Theory]
    [InlineData("POST", "/orders/o-b1?work=abc", "The query parameter 'work' is not a valid Int32.")]
    [InlineData("GET", "/quotes/o-b2?work=1.5", "The query parameter 'work' is not a valid Int32.")]
    [InlineData("POST", "/timed-orders/o-b3", "The query parameter 'work' is required.")]
    [InlineData("POST", "/timed-orders/o-b4?work=", "The query parameter 'work' is required.")]
    public async Task AnArgumentTheEndpointCannotBind_IsA400Problem_NamingIt(string method, string path, string detail)
    {
        using var request = Request(new HttpMethod(method), path, prefer: null, key: null);
        using var response = await _a1.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await Json(response);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
        Assert.Equal(detail, problem.GetProperty("errors").GetProperty("work")[0].GetString());
        Assert.Empty(_host.State.Executions);
    }

    [Theory]
    [InlineData("wait=-1")]
    [InlineData("wait=abc")]
    [InlineData("wait=1.5")]
    [InlineData("wait=+5")]
    [InlineData("wait=")]
    [InlineData("wait=99999999999x")]
    [InlineData("wait")]
    [InlineData("wait=1, wait=2")]
    public async Task AMalformedPreferWait_Is400(string prefer)
    {
        using var request = Post("/orders/bad-prefer", prefer: prefer);
        using var response = await _a1.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("wait", (await Json(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(_host.State.Executions.ContainsKey("bad-prefer"));
    }

    [Fact]
    public async Task UnknownPreferences_AreIgnored_AndALongWaitIsCutToTheMaximum()
    {
        using var request = Post("/orders/o-6", prefer: "return=minimal; foo=bar, handling=lenient, wait=100000");
        using var response = await _a1.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("wait=5", Header(response, "Preference-Applied"));
    }

    // Every wait longer than MaxWait is cut to it, however many digits it has (RFC 9111 §1.2.2:
    // delta-seconds too large to represent mean "the greatest").
    [Theory]
    [InlineData("wait=6")]
    [InlineData("wait=999999999")]
    [InlineData("wait=1000000000")]
    [InlineData("wait=99999999999")]
    [InlineData("wait=18446744073709551616")]
    [InlineData("wait=\"340282366920938463463374607431768211456\"")]
    public async Task AnOverLongPreferWait_IsCutToTheMaximum(string prefer)
    {
        using var request = Post("/orders/o-long-wait", prefer: prefer);
        using var response = await _a1.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("wait=5", Header(response, "Preference-Applied"));
    }

    [Fact]
    public async Task AnOverLongPreferWait_OnAResultPoll_IsCutToTheMaximum()
    {
        using var request = Post("/orders/o-long-poll?work=800", prefer: "respond-async");
        using var accepted = await _a1.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        using var poll = Get(accepted.Headers.Location!.ToString(), prefer: "wait=99999999999999999999");
        using var done = await _a1.SendAsync(poll);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal("wait=5", Header(done, "Preference-Applied"));
    }

    [Theory]
    [InlineData("300")]
    [InlineData("two words")]
    [InlineData("\"quote\"inside\"")]
    [InlineData("\"\"")]
    public async Task AnIdempotencyKey_MustBeOneShortTokenOrQuotedString(string key)
    {
        key = key == "300" ? new string('k', 300) : key;
        using var request = Post("/orders/bad-key");
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        using var response = await _a1.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Idempotency-Key", (await Json(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIdempotencyKeyReusedForAnotherRequest_Is422_AndTheFirstRequestKeepsItsResult()
    {
        using var first = await _a1.SendAsync(Request(HttpMethod.Post, "/orders/key-a?work=0", null, "reused-key"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        // The same key for another order: refused without running, on this instance or another.
        foreach (var edge in new[] { _a1, _a2 })
        {
            using var other = await edge.SendAsync(Request(HttpMethod.Post, "/orders/totally-other-order?work=0", null, "reused-key"));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
            Assert.Equal("application/problem+json", other.Content.Headers.ContentType?.MediaType);
            var problem = await Json(other);
            Assert.Equal(RpcIdempotency.KeyReusedDetail, problem.GetProperty("detail").GetString());
        }

        using var retry = await _a2.SendAsync(Request(HttpMethod.Post, "/orders/key-a?work=0", null, "reused-key"));
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("key-a", (await Json(retry)).GetProperty("orderId").GetString());
    }

    [Fact]
    public async Task PreferAndIdempotencyKey_ReachACallMadeWithoutOptions()
    {
        // The route calls PlaceAsync(id, work) without passing RpcHttpCall.Options.
        using var accepted = await _a1.SendAsync(Request(HttpMethod.Post, "/plain-orders/plain-1?work=600", "respond-async", "plain-key"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        using var retry = await _a2.SendAsync(Request(HttpMethod.Post, "/plain-orders/plain-1?work=600", "wait=5", "plain-key"));
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("plain-1", (await Json(retry)).GetProperty("orderId").GetString());
        Assert.Equal(1, _host.State.Executions["plain-1"]);
    }

    [Fact]
    public async Task TwoIdempotencyKeys_Are400()
    {
        using var request = Post("/orders/two-keys");
        request.Headers.TryAddWithoutValidation("Idempotency-Key", new[] { "a", "b" });
        using var response = await _a1.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task ANonAsciiHeader_IsRefused_AndTheEdgeKeepsServing()
    {
        // HttpClient will not send non-ASCII header bytes: write the request by hand.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_a1.BaseAddress!.Host, _a1.BaseAddress.Port);
        var stream = tcp.GetStream();
        var head = System.Text.Encoding.ASCII.GetBytes($"POST /orders/non-ascii HTTP/1.1\r\nHost: {_a1.BaseAddress.Authority}\r\nContent-Length: 0\r\nIdempotency-Key: schl");
        var tail = System.Text.Encoding.ASCII.GetBytes("ssel\r\n\r\n");
        await stream.WriteAsync(head);
        await stream.WriteAsync(new byte[] { 0xC3, 0xBC });
        await stream.WriteAsync(tail);
        var buffer = new byte[512];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var status = System.Text.Encoding.ASCII.GetString(buffer, 0, read);

        Assert.StartsWith("HTTP/1.1 400", status, StringComparison.Ordinal);
        Assert.False(_host.State.Executions.ContainsKey("non-ascii"));
        using var next = await _a1.PostAsync("/orders/after-non-ascii", null);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task AHugeHeader_IsRefusedByTheServer_AndTheEdgeKeepsServing()
    {
        using var request = Post("/orders/huge");
        request.Headers.TryAddWithoutValidation("Idempotency-Key", new string('x', 64 * 1024));
        using var response = await _a1.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        using var next = await _a1.PostAsync("/orders/after-huge", null);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Theory]
    [InlineData("nonsense")]
    [InlineData("01a202e9a0557e33b21216eccb54938f")]
    [InlineData("01a202e9a0557e33b21216eccb54938f.AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("01a202e9a0557e33b21216eccb54938f.%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F")]
    [InlineData("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.AAAAAAAAAAAAAAAAAAAAAA")]
    public async Task ABadOrForgedHandle_Is404(string handle)
    {
        using var response = await _a1.GetAsync("/rpc-results/" + handle);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task OnlyTheCanonicalSpellingOfAHandlesTag_IsAccepted()
    {
        using var request = Post("/orders/o-canonical?work=300", prefer: "respond-async");
        using var accepted = await _a1.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var location = accepted.Headers.Location!.ToString();

        // The 22nd base64url character of a 128-bit tag carries 2 bits of it and 4 unused ones:
        // 16 spellings decode to the same bytes, and only the one the edge wrote is its handle.
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var last = Alphabet.IndexOf(location[^1], StringComparison.Ordinal);
        Assert.Equal(0, last & 0b1111);
        for (var unused = 1; unused < 16; unused++)
        {
            var variant = location[..^1] + Alphabet[(last & 0b110000) | unused];
            using var refused = await _a1.GetAsync(variant);
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }

        using var poll = Get(location, prefer: "wait=5");
        using var genuine = await _a1.SendAsync(poll);
        Assert.Equal(HttpStatusCode.OK, genuine.StatusCode);
    }

    [Fact]
    public async Task AGenuineHandleOfAnUnknownCall_Is404()
    {
        // Sign an id no call ever had, as an instance with the shared key would.
        using var request = Post("/orders/o-7?work=300", prefer: "respond-async");
        using var accepted = await _a1.SendAsync(request);
        var location = accepted.Headers.Location!.ToString();
        var handles = new ResultHandles(Microsoft.Extensions.Options.Options.Create(new RpcHttpOptions { ResultSigningKey = EdgeHost.SharedKey }));
        var unknown = "/rpc-results/" + handles.Create(CorrelationId.NewId().ToString(), null);

        using var response = await _a1.GetAsync(unknown);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var genuine = await _a1.GetAsync(location);
        Assert.Contains(genuine.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted });
    }

    [Fact]
    public async Task ResultsBoundToTheCaller_AreNotReadableByAnother()
    {
        using var edge = await _host.StartEdgeAsync("a-owner", o => o.ResultOwner = http => http.Request.Headers["X-User"].FirstOrDefault());
        using var request = Post("/orders/o-8?work=200", prefer: "respond-async");
        request.Headers.Add("X-User", "alice");
        using var accepted = await edge.SendAsync(request);
        var location = accepted.Headers.Location!.ToString();

        using var asBob = Get(location, prefer: "wait=5");
        asBob.Headers.Add("X-User", "bob");
        using var bob = await edge.SendAsync(asBob);
        Assert.Equal(HttpStatusCode.NotFound, bob.StatusCode);

        using var asAlice = Get(location, prefer: "wait=5");
        asAlice.Headers.Add("X-User", "alice");
        using var alice = await edge.SendAsync(asAlice);
        Assert.Equal(HttpStatusCode.OK, alice.StatusCode);
    }

    [Fact]
    public async Task AnInvalidSetting_StopsTheEdgeFromStarting_NamingIt()
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => _host.StartEdgeAsync("a-bad", o => o.ResultSigningKey = "c2hvcnQ="));

        Assert.Contains("TypedRpc:Http:ResultSigningKey", ex.Message, StringComparison.Ordinal);
    }

    private static HttpRequestMessage Post(string path, string? prefer = null, string? key = null) => Request(HttpMethod.Post, path, prefer, key);

    private static HttpRequestMessage Get(string path, string? prefer = null) => Request(HttpMethod.Get, path, prefer, null);

    private static HttpRequestMessage Request(HttpMethod method, string path, string? prefer, string? key)
    {
        var request = new HttpRequestMessage(method, path);
        if (prefer is not null)
        {
            request.Headers.TryAddWithoutValidation("Prefer", prefer);
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
}
