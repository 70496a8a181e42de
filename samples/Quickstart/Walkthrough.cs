using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Quickstart.Contracts;
using Spectre.Console;
using TypedRpc;

namespace Quickstart;

/// <summary>
/// The caller's side of the demo, scene by scene: routing across both clusters, a stream, a timeout
/// turning into a Pending result fetched later by id, server errors as statuses, and a client
/// instance leaving while the orders it placed still complete. Every scene checks what it shows;
/// a failed check makes the demo exit 1.
/// </summary>
public sealed class Walkthrough(IAnsiConsole console, DemoSettings settings, IReadOnlyList<DemoInstance> clients, OrderLedger? ledger, MeterTotals totals)
{
    // Calls that end after the last scene: while serving (--serve) or while the instances stop.
    private const string AfterWalkthrough = "after the walkthrough";

    private static readonly string[] Skus = ["espresso-beans-1kg", "grinder-pro", "milk-jug", "descaler", "tamper"];

    // Order ids are the idempotency keys: unique per run, so a rerun against the same Redis never
    // meets the stored results of an earlier one.
    private readonly string _run = Guid.NewGuid().ToString("N")[..6];
    private readonly List<double> _latencies = new();
    private readonly List<string> _failures = new();
    private readonly List<(string Part, IReadOnlyDictionary<string, long> Totals)> _parts = new();
    private readonly Dictionary<(string Part, string Status), string> _purposes = new();
    private readonly ConcurrentDictionary<string, string> _expectedLogs = new(StringComparer.Ordinal);
    private string _part = "warm-up";
    private int _calls;

    /// <summary>Checks that failed (empty when the demo showed what it claims).</summary>
    public IReadOnlyList<string> Failures => _failures;

    /// <summary>Runs every scene.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await InPartAsync("warm-up", WarmUpAsync, cancellationToken);
            await InPartAsync("scene 1", RoutingAsync, cancellationToken);
            await InPartAsync("scene 2", StreamingAsync, cancellationToken);
            await InPartAsync("scene 3", PendingAsync, cancellationToken);
            await InPartAsync("scene 4", ErrorsAsync, cancellationToken);
            await InPartAsync("scene 5", HttpEdgeAsync, cancellationToken);
            await InPartAsync("scene 6", LeavingAsync, cancellationToken);
        }
        finally
        {
            _part = AfterWalkthrough;
            _parts.Add((_part, totals.Snapshot()));
        }
    }

    /// <summary>
    /// The calls that did not end OK, by part of the walkthrough and status, from the
    /// <c>typedrpc.client.calls</c> counter; each with the reason its scene gave for provoking
    /// them. Calls no scene meant to fail count as failed checks.
    /// </summary>
    public IReadOnlyList<FailedCalls> CallsNotOk()
    {
        const string Prefix = "typedrpc.client.calls|";
        var result = new List<FailedCalls>();
        for (var i = 0; i < _parts.Count; i++)
        {
            var (part, start) = _parts[i];
            var end = i + 1 < _parts.Count ? _parts[i + 1].Totals : totals.Snapshot();
            foreach (var (key, value) in end.Where(p => p.Key.StartsWith(Prefix, StringComparison.Ordinal) && p.Key != Prefix + "OK").OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var count = value - (start.TryGetValue(key, out var before) ? before : 0);
                if (count == 0)
                {
                    continue;
                }

                var status = key[Prefix.Length..];
                var purpose = _purposes.TryGetValue((part, status), out var why) ? why
                    : part == AfterWalkthrough && settings.Serve ? "calls made while serving" : null;
                result.Add(new FailedCalls(part, status, count, purpose));
                if (purpose is null)
                {
                    Fail($"{count} call(s) in {part} ended {status}, which the scene did not mean to provoke");
                }
            }
        }

        return result;
    }

    /// <summary>Why a scene made the instances log this entry, or <see langword="null"/> when no scene meant to.</summary>
    public string? WhyLogged(LogEntry entry) =>
        entry.CorrelationId is { } id && _expectedLogs.TryGetValue(id, out var why) ? why : null;

    /// <summary>Calls made, p50 and p99 of the routing scene's latencies.</summary>
    public (int Calls, double P50, double P99) Latency()
    {
        lock (_latencies)
        {
            var sorted = _latencies.Order().ToArray();
            return (_calls, Percentile(sorted, 0.50), Percentile(sorted, 0.99));
        }
    }

    // The order id is the idempotency key: a retry with it, through any instance, is the same call.
    // The order is wanted for 30 s (its deadline); the shop waits 2.5 s for it, then gets Pending.
    private static RpcCallOptions Once(string orderId) => RpcCallOptions.Default.WithIdempotencyKey(orderId).WithMaxWait(ShopWait);

    private static readonly TimeSpan ShopWait = TimeSpan.FromSeconds(2.5);

    private async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        // Requests wait in Kafka until the pricing consumer group has formed (its first join takes
        // a few seconds), and with --routing ConsumerGroup replies wait for the shop group too. Rounds
        // of one call per client instance show when the clusters answer promptly.
        var watch = Stopwatch.StartNew();
        var rounds = 0;
        await console.Status().StartAsync("waiting for the clusters to connect…", async _ =>
        {
            while (true)
            {
                rounds++;
                var round = Stopwatch.StartNew();
                await Task.WhenAll(clients.Select(c => c.Pricing!.GetQuoteAsync(new QuoteRequest(Skus[0], 1), cancellationToken: cancellationToken)));
                if (round.Elapsed < TimeSpan.FromMilliseconds(500) || watch.Elapsed > TimeSpan.FromSeconds(30))
                {
                    return;
                }
            }
        });
        console.MarkupLine($"Every client instance got prompt answers after {watch.Elapsed.TotalSeconds:0.0} s [grey]({rounds} round(s) of calls while the consumer groups formed)[/].");
    }

    private async Task RoutingAsync(CancellationToken cancellationToken)
    {
        Scene("1 · Routing", $"{settings.Calls} calls from the client cluster; each runs on one server instance, and its reply comes back to the instance that sent it.");
        var rows = new ConcurrentQueue<CallRow>();
        var matrix = new ConcurrentDictionary<(string Client, string Server), int>();
        var next = -1;
        var done = 0;

        async Task WorkerAsync()
        {
            while (true)
            {
                var index = Interlocked.Increment(ref next);
                if (index >= settings.Calls)
                {
                    return;
                }

                var client = clients[index % clients.Count];
                var replyTo = client.Client!.ReplyAddress.ToString();
                var watch = Stopwatch.StartNew();
                string method, server, status;
                try
                {
                    if (index % 5 == 4)
                    {
                        method = "PlaceOrder";
                        var result = await client.Pricing!.PlaceOrderAsync($"o-{_run}-{index}", 20m + index, RpcCallOptions.Default.WithIdempotencyKey($"o-{_run}-{index}"), cancellationToken);
                        server = result.IsCompleted ? result.Value.ProcessedBy : "-";
                        status = result.IsCompleted ? "OK" : result.State.ToString();
                    }
                    else
                    {
                        method = "GetQuote";
                        var quote = await client.Pricing!.GetQuoteAsync(new QuoteRequest(Skus[index % Skus.Length], 1 + index % 12), cancellationToken: cancellationToken);
                        server = quote.PricedBy;
                        status = "OK";
                    }
                }
                catch (RpcException ex)
                {
                    method = index % 5 == 4 ? "PlaceOrder" : "GetQuote";
                    server = "-";
                    status = ex.StatusCode.ToString();
                }

                var ms = watch.Elapsed.TotalMilliseconds;
                lock (_latencies)
                {
                    _latencies.Add(ms);
                    _calls++;
                }

                if (status != "OK")
                {
                    Fail($"routing call {index + 1} from {client.Name} ended {status}");
                }
                else
                {
                    matrix.AddOrUpdate((client.Name, server), 1, static (_, n) => n + 1);
                }

                rows.Enqueue(new CallRow(index + 1, client.Name, method, server, replyTo, ms, status));
                Interlocked.Increment(ref done);
                // Paced so the table can be watched; the benchmarks measure the engine flat out.
                await Task.Delay(60, cancellationToken);
            }
        }

        var workers = Enumerable.Range(0, Math.Min(6, settings.Calls)).Select(_ => Task.Run(WorkerAsync, cancellationToken)).ToArray();
        var all = Task.WhenAll(workers);
        if (console.IsLive())
        {
            // A terminal: a live table of the latest calls under a progress bar.
            await console.Live(new Rows(new Markup(Bar(0)))).AutoClear(false).StartAsync(async ctx =>
            {
                while (true)
                {
                    var finished = all.IsCompleted;
                    ctx.UpdateTarget(new Rows(new Markup(Bar(Volatile.Read(ref done))), RoutingTable(rows.TakeLast(12))));
                    ctx.Refresh();
                    if (finished)
                    {
                        break;
                    }

                    await Task.WhenAny(all, Task.Delay(150, cancellationToken));
                }
            });
        }
        else
        {
            // A log (a file, a pipe, CI): one table of every call, in call order, once they all ended.
            await all;
            console.Write(RoutingTable(rows.OrderBy(r => r.Number)));
            console.MarkupLine(Bar(rows.Count));
        }

        await all;

        // Who sent, who ran: every client reaches every server, and each reply came home.
        var servers = matrix.Keys.Select(k => k.Server).Distinct().Order().ToArray();
        var grid = new Table().Border(TableBorder.Simple).Title("[grey]calls by sender (rows) and server instance that ran them (columns)[/]");
        grid.AddColumn("sent by");
        foreach (var server in servers)
        {
            grid.AddColumn(new TableColumn(server).RightAligned());
        }

        grid.AddColumn(new TableColumn("replies back at the sender").RightAligned());
        foreach (var client in clients)
        {
            var cells = new List<string> { client.Name };
            cells.AddRange(servers.Select(s => matrix.TryGetValue((client.Name, s), out var n) ? n.ToString() : "0"));
            cells.Add(servers.Sum(s => matrix.TryGetValue((client.Name, s), out var n) ? n : 0).ToString());
            grid.AddRow(cells.ToArray());
        }

        console.Write(grid);
        console.MarkupLine($"[grey]Each client instance reads only its own replies ({string.Join(", ", clients.Select(c => $"{c.Name} → {Markup.Escape(c.Client!.ReplyAddress.ToString())}"))}).[/]");
    }

    private async Task StreamingAsync(CancellationToken cancellationToken)
    {
        Scene("2 · Streaming", "WatchAsync returns IAsyncEnumerable<PriceTick>: one request, many replies, in order.");
        var client = clients[0];
        var received = 0;
        await foreach (var tick in client.Pricing!.WatchAsync("ACME", 5, cancellationToken))
        {
            received++;
            console.MarkupLine($"  {client.Name} ◄ tick {tick.Sequence}  ACME {tick.Price,8:0.00}  [grey](streamed by {tick.Source})[/]");
        }

        Check(received == 5, $"the stream delivered {received} of 5 ticks");
    }

    private async Task PendingAsync(CancellationToken cancellationToken)
    {
        Scene("3 · Timeout → Pending → fetched later", "The shop waits 2.5 s for an order (RpcCallOptions.WithMaxWait; the order itself is wanted for 30 s), and one of 12,500 needs a 3.5 s approval. The caller gets Pending with the call's id while the order goes on; any instance fetches the result later.");
        var caller = clients[Math.Min(1, clients.Count - 1)];
        var fetcher = clients[^1];
        Provokes(RpcStatusCode.DeadlineExceeded, "the shop stopped waiting for a slow order and fetched it later");
        var watch = Stopwatch.StartNew();
        var result = await caller.Pricing!.PlaceOrderAsync($"o-{_run}-big", 12_500m, Once($"o-{_run}-big"), cancellationToken);
        console.MarkupLine($"  {caller.Name}: PlaceOrder(12,500) → [yellow]{result.State}[/] after {watch.Elapsed.TotalSeconds:0.0} s, id [blue]{result.CorrelationId}[/]");
        if (!Check(result.IsPending && result.CorrelationId is not null, $"the slow order ended {result.State} instead of Pending"))
        {
            return;
        }

        var later = await fetcher.Results!.WaitAsync<Receipt>(result.CorrelationId!, TimeSpan.FromSeconds(10), cancellationToken);
        var text = later.IsCompleted ? $"receipt {later.Value.ReceiptId.ToString()[..8]}…, charged {later.Value.Charged:N0}, placed by {later.Value.ProcessedBy}" : later.ToString();
        console.MarkupLine($"  {fetcher.Name}: Results.WaitAsync(id) → [green]{later.State}[/] after {watch.Elapsed.TotalSeconds:0.0} s: {Markup.Escape(text)}");
        Check(later.IsCompleted, $"the pending order was not fetched later ({later.State})");
    }

    private async Task ErrorsAsync(CancellationToken cancellationToken)
    {
        Scene("4 · Server errors arrive as statuses", "An RpcException thrown by the server keeps its status and detail; any other exception is Internal, with no details leaving the server.");
        var client = clients[0];
        await ExpectAsync(client, "GetQuote(\"unobtainium\")", RpcStatusCode.NotFound, "a product the catalogue does not have",
            async () => await client.Pricing!.GetQuoteAsync(new QuoteRequest("unobtainium", 1), cancellationToken: cancellationToken));
        await ExpectAsync(client, "GetQuote(\"self-test\")", RpcStatusCode.Internal, "a handler that throws, a bug as the caller sees it",
            async () => await client.Pricing!.GetQuoteAsync(new QuoteRequest("self-test", 1), cancellationToken: cancellationToken),
            detail => !detail.Contains("corrupted", StringComparison.Ordinal));

        const string Refused = "an order of amount 0, which the handler refuses";
        Provokes(RpcStatusCode.InvalidArgument, Refused);
        var refused = await client.Pricing!.PlaceOrderAsync($"o-{_run}-zero", 0m, Once($"o-{_run}-zero"), cancellationToken);
        ExpectLogs(refused.CorrelationId, Refused);
        console.MarkupLine($"  {client.Name}: PlaceOrder(amount 0) → RpcResult [red]{refused.State}[/]: {refused.Status.StatusCode} \"{Markup.Escape(refused.Status.Detail)}\"");
        Check(refused.IsFailed && refused.Status.StatusCode == RpcStatusCode.InvalidArgument, $"PlaceOrder(0) ended {refused}");
    }

    private async Task ExpectAsync(DemoInstance client, string call, RpcStatusCode expected, string purpose, Func<Task> action, Func<string, bool>? detailCheck = null)
    {
        Provokes(expected, purpose);
        try
        {
            await action();
            console.MarkupLine($"  {client.Name}: {Markup.Escape(call)} → [red]completed[/]");
            Fail($"{call} completed instead of failing with {expected}");
        }
        catch (RpcException ex)
        {
            ExpectLogs(ex.CorrelationId, purpose);
            console.MarkupLine($"  {client.Name}: {Markup.Escape(call)} → RpcException [red]{ex.StatusCode}[/] \"{Markup.Escape(ex.Status.Detail)}\"");
            Check(ex.StatusCode == expected, $"{call} failed with {ex.StatusCode}, not {expected}");
            Check(detailCheck?.Invoke(ex.Status.Detail) ?? true, $"{call} leaked server details: {ex.Status.Detail}");
        }
    }

    private async Task HttpEdgeAsync(CancellationToken cancellationToken)
    {
        var a = clients[0];
        var b = clients[Math.Min(1, clients.Count - 1)];
        Scene("5 · The HTTP edge", $"Each shop instance serves its own upstream over HTTP ({string.Join(", ", clients.Select(c => $"{c.Name} {c.HttpAddress}"))}): a call is answered (200), handed a result location (202), or a problem (504); a retry with the same Idempotency-Key through another instance reaches the same call.");
        using var http = new System.Net.Http.HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Provokes(RpcStatusCode.DeadlineExceeded, "HTTP callers that did not wait for the result (202, 504)");

        var quote = await ExchangeAsync(http, "GET", $"{a.HttpAddress}/quotes/grinder-pro?quantity=2", null, null, cancellationToken);
        Check(quote.Status == 200, $"GET /quotes answered {quote.Status}, not 200");

        var order = $"o-{_run}-http";
        var accepted = await ExchangeAsync(http, "POST", $"{a.HttpAddress}/orders/{order}?amount=12500", "respond-async", null, cancellationToken);
        if (Check(accepted.Status == 202 && accepted.Location is not null, $"POST with respond-async answered {accepted.Status}, not 202 with a Location"))
        {
            var later = await ExchangeAsync(http, "GET", b.HttpAddress + accepted.Location, "wait=10", null, cancellationToken);
            Check(later.Status == 200, $"polling the result through {b.Name} answered {later.Status}, not 200");
        }

        var slow = await ExchangeAsync(http, "GET", $"{a.HttpAddress}/quotes/bespoke-roaster", "wait=1", null, cancellationToken);
        if (Check(slow.Status == 504 && slow.ResultLocation is not null, $"a quote past its wait answered {slow.Status}, not 504 with a resultLocation"))
        {
            var late = await ExchangeAsync(http, "GET", a.HttpAddress + slow.ResultLocation, "wait=10", null, cancellationToken);
            Check(late.Status == 200, $"the late quote answered {late.Status}, not 200");
        }

        var retried = $"o-{_run}-retry";
        var key = $"\"{retried}\"";
        var first = await ExchangeAsync(http, "POST", $"{a.HttpAddress}/orders/{retried}?amount=2000", "wait=0", key, cancellationToken);
        Check(first.Status == 202, $"the first try answered {first.Status}, not 202");
        var retry = await ExchangeAsync(http, "POST", $"{b.HttpAddress}/orders/{retried}?amount=2000", "wait=10", key, cancellationToken);
        Check(retry.Status == 200, $"the retry through {b.Name} answered {retry.Status}, not 200");
        if (ledger is not null)
        {
            console.MarkupLine($"  order {retried} ran {ledger.Times(retried)} time(s) for two HTTP requests through two instances");
            Check(ledger.Times(retried) == 1, $"order {retried} ran {ledger.Times(retried)} times");
        }
    }

    private sealed record Exchange(int Status, string? Location, string? ResultLocation);

    // One HTTP exchange, printed as curl would show it (status line, the headers that matter, the body).
    private async Task<Exchange> ExchangeAsync(System.Net.Http.HttpClient http, string method, string url, string? prefer, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var request = new System.Net.Http.HttpRequestMessage(new System.Net.Http.HttpMethod(method), url);
        var command = $"$ curl -si{(method == "GET" ? string.Empty : " -X " + method)}";
        if (prefer is not null)
        {
            request.Headers.TryAddWithoutValidation("Prefer", prefer);
            command += $" -H 'Prefer: {prefer}'";
        }

        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
            command += $" -H 'Idempotency-Key: {idempotencyKey}'";
        }

        var watch = Stopwatch.StartNew();
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        console.MarkupLine($"  [blue]{Markup.Escape(command + " " + url)}[/]");
        var colour = (int)response.StatusCode < 300 ? "green" : (int)response.StatusCode < 500 ? "yellow" : "red";
        console.MarkupLine($"  [{colour}]HTTP/1.1 {(int)response.StatusCode} {Markup.Escape(response.ReasonPhrase ?? string.Empty)}[/] [grey]({watch.Elapsed.TotalSeconds:0.0} s)[/]");
        foreach (var name in new[] { "Location", "Retry-After", "Preference-Applied" })
        {
            if (response.Headers.TryGetValues(name, out var values))
            {
                console.MarkupLine($"  [grey]{name}: {Markup.Escape(string.Join(", ", values))}[/]");
            }
        }

        if (body.Length > 0)
        {
            // Whole: the problem body's resultLocation is what the 504 exchange is about.
            console.MarkupLine($"  [grey]{Markup.Escape(body)}[/]");
        }

        string? resultLocation = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json"
            && System.Text.Json.JsonDocument.Parse(body).RootElement.TryGetProperty("resultLocation", out var location))
        {
            resultLocation = location.GetString();
        }

        return new Exchange((int)response.StatusCode, response.Headers.Location?.ToString(), resultLocation);
    }

    private async Task LeavingAsync(CancellationToken cancellationToken)
    {
        if (clients.Count < 2)
        {
            console.MarkupLine("[grey]Scene 6 needs two client instances; skipped.[/]");
            return;
        }

        const int Orders = 12;
        var leaver = clients[^1];
        var stayers = clients.Take(clients.Count - 1).ToArray();
        Scene("6 · A client instance leaves", $"{leaver.Name} places {Orders} orders that take 1.5 s each, then shuts down without waiting for them (no grace period). Its callers retry with the same order ids through {string.Join(" and ", stayers.Select(s => s.Name))}: each order is taken over, runs once, and its reply reaches the new owner (over Kafka forwarded from {leaver.Name}'s partition; over MQTT sent again by the server's claim to the retry's reply topic).");
        Provokes(RpcStatusCode.Unavailable, $"{leaver.Name} left while its orders waited");
        Provokes(RpcStatusCode.DeadlineExceeded, "a retry that stopped waiting and fetched its receipt later");
        var before = totals.Snapshot();
        var ids = Enumerable.Range(1, Orders).Select(i => $"o-{_run}-leave-{i}").ToArray();
        var firstTries = ids.Select(id => Try(() => leaver.Pricing!.PlaceOrderAsync(id, 2_000m, Once(id), cancellationToken))).ToArray();
        await Task.Delay(400, cancellationToken);

        var watch = Stopwatch.StartNew();
        await leaver.StopAsync(waitForCalls: false);
        var ended = await Task.WhenAll(firstTries);
        var statuses = ended.GroupBy(r => r.IsFailed ? r.Status.StatusCode.ToString() : r.State.ToString()).Select(g => $"{g.Count()} × {g.Key}");
        console.MarkupLine($"  {leaver.Name} left in {watch.Elapsed.TotalSeconds:0.0} s; its waiting calls ended: {string.Join(", ", statuses)} [grey](\"{Markup.Escape(ended.FirstOrDefault(r => r.IsFailed).Status.Detail)}\")[/]");
        Check(ended.All(r => r.IsFailed && r.Status.StatusCode == RpcStatusCode.Unavailable), "the leaving instance's calls did not all end with Unavailable");

        var retries = ids.Select((id, i) => RetryAsync(stayers[i % stayers.Length], id, cancellationToken)).ToArray();
        var outcomes = await Task.WhenAll(retries);
        var completed = outcomes.Count(o => o.Result.IsCompleted);
        console.MarkupLine($"  retried through {string.Join(", ", stayers.Select(s => s.Name))}: [green]{completed}/{Orders} completed[/] in {watch.Elapsed.TotalSeconds:0.0} s after the leave");
        Check(completed == Orders, $"only {completed} of {Orders} retried orders completed");

        var after = totals.Snapshot();
        long Delta(string key) => (after.TryGetValue(key, out var a) ? a : 0) - (before.TryGetValue(key, out var b) ? b : 0);
        console.MarkupLine($"  takeovers {Delta("typedrpc.client.takeovers")} · replies forwarded {Delta("typedrpc.client.replies.forwarded")} · delivered after forwarding {Delta("typedrpc.client.replies.delivered|forwarded")} · redelivered requests not run again {Delta("typedrpc.server.duplicates_suppressed")}");
        if (ledger is not null)
        {
            var runs = ids.Select(ledger.Times).ToArray();
            console.MarkupLine($"  orders run: {runs.Count(n => n == 1)} once, {runs.Count(n => n > 1)} twice or more, {runs.Count(n => n == 0)} never");
            Check(runs.All(n => n == 1), "a retried order did not run exactly once");
        }

        Check(Delta("typedrpc.client.takeovers") == Orders, $"{Delta("typedrpc.client.takeovers")} takeovers for {Orders} retried orders");
    }

    private async Task<(string Instance, RpcResult<Receipt> Result)> RetryAsync(DemoInstance through, string orderId, CancellationToken cancellationToken)
    {
        var result = await Try(() => through.Pricing!.PlaceOrderAsync(orderId, 2_000m, Once(orderId), cancellationToken));
        if (result.IsPending)
        {
            result = await through.Results!.WaitAsync<Receipt>(result.CorrelationId!, TimeSpan.FromSeconds(10), cancellationToken);
        }

        return (through.Name, result);
    }

    // PlaceOrder reports statuses in its RpcResult; a call that cannot even start throws.
    private static async Task<RpcResult<Receipt>> Try(Func<Task<RpcResult<Receipt>>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException ex)
        {
            return RpcResult<Receipt>.Failed(ex.Status, ex.CorrelationId);
        }
    }

    private void Scene(string title, string explanation)
    {
        console.WriteLine();
        console.Heading(title);
        console.MarkupLine($"[grey]{Markup.Escape(explanation)}[/]");
    }

    private async Task InPartAsync(string part, Func<CancellationToken, Task> run, CancellationToken cancellationToken)
    {
        _part = part;
        _parts.Add((part, totals.Snapshot()));
        await run(cancellationToken);
    }

    // Declares that the current scene makes calls end with this status, and why: the summary
    // explains the calls that did not end OK with it.
    private void Provokes(RpcStatusCode status, string purpose) => _purposes[(_part, status.ToString())] = purpose;

    // What the instances log about a call a scene failed on purpose is expected; the summary says so.
    private void ExpectLogs(string? correlationId, string purpose)
    {
        if (correlationId is not null)
        {
            _expectedLogs[correlationId] = $"{purpose} ({_part})";
        }
    }

    private bool Check(bool condition, string failure)
    {
        if (!condition)
        {
            Fail(failure);
        }

        return condition;
    }

    private void Fail(string failure)
    {
        lock (_failures)
        {
            _failures.Add(failure);
        }

        console.MarkupLine($"  [red]✗ {Markup.Escape(failure)}[/]");
    }

    private string Bar(int done)
    {
        const int Width = 40;
        var filled = settings.Calls == 0 ? Width : done * Width / settings.Calls;
        return $"[green]{new string('█', filled)}[/][grey]{new string('░', Width - filled)}[/] {done}/{settings.Calls} calls";
    }

    private static Table RoutingTable(IEnumerable<CallRow> rows)
    {
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn(new TableColumn("#").RightAligned());
        table.AddColumn("sent by");
        table.AddColumn("method");
        table.AddColumn("ran on");
        table.AddColumn("reply to");
        table.AddColumn("back at");
        table.AddColumn(new TableColumn("ms").RightAligned());
        foreach (var row in rows)
        {
            var back = row.Status == "OK" ? $"[green]{row.Client} ✓[/]" : $"[red]{row.Status}[/]";
            table.AddRow(row.Number.ToString(), row.Client, row.Method, row.Server, Markup.Escape(row.ReplyTo), back, row.Milliseconds.ToString("0.0"));
        }

        return table;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private sealed record CallRow(int Number, string Client, string Method, string Server, string ReplyTo, double Milliseconds, string Status);
}
