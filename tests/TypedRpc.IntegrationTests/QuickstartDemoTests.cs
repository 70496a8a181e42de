using System;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// The README's <c>./build.sh demo</c> stays working: the built quickstart runs end to end (both
/// clusters on its own embedded Kafka and embedded Redis (Garnet), or on TYPEDRPC_KAFKA_BOOTSTRAP /
/// TYPEDRPC_REDIS) with fewer routing calls, and its own checks must all hold. Its output through a
/// pipe is a readable log: plain text, whole lines, each table once, a summary whose counts add up.
/// </summary>
// In the infrastructure collection only to run alone: the demo starts its own Kafka and Redis, and
// its scenes have wall-clock waits that the other collections' load would stretch.
[Collection(Redis.RedisCollection.Name)]
public sealed class QuickstartDemoTests(QuickstartDemoRun run, ITestOutputHelper output) : IClassFixture<QuickstartDemoRun>
{
    private string[] Lines => run.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

    [Fact]
    public void TheQuickstartRunsEveryScene_AndEveryCheckHolds()
    {
        var text = run.Output + run.Error;
        output.WriteLine(text);
        Assert.True(run.ExitCode == 0, $"the quickstart exited {run.ExitCode}:\n{text}");
        Assert.Contains("Every check held.", text, StringComparison.Ordinal);
        Assert.Contains($"{QuickstartDemoRun.RoutingCalls}/{QuickstartDemoRun.RoutingCalls} calls", text, StringComparison.Ordinal);
        Assert.Contains("12/12 completed", text, StringComparison.Ordinal);
        Assert.Contains("calls taken over by another instance", text, StringComparison.Ordinal);
        // The HTTP edge's exchanges: answered, accepted then fetched, timed out with a result location.
        Assert.Contains("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 202 Accepted", text, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 504 Gateway Timeout", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ThroughAPipe_TheOutputHasNoEscapeSequences()
    {
        var escape = run.Output.IndexOf('\u001b', StringComparison.Ordinal);
        Assert.True(escape < 0, $"an escape sequence at {escape}: {Around(run.Output, escape)}");
    }

    [Fact]
    public void ThroughAPipe_The504ProblemIsOneWholeLine_WithItsResultLocation()
    {
        var lines = Lines;
        var status = Array.FindIndex(lines, l => l.Contains("HTTP/1.1 504 Gateway Timeout", StringComparison.Ordinal));
        Assert.True(status >= 0, "no 504 exchange in the output");
        var body = lines.Skip(status + 1).FirstOrDefault(l => l.TrimStart().StartsWith('{'));
        Assert.NotNull(body);

        // A line cut anywhere inside the body would not parse.
        using var problem = JsonDocument.Parse(body.Trim());
        var location = problem.RootElement.GetProperty("resultLocation").GetString();
        Assert.Matches("^/rpc-results/[^/…]+$", location);
        Assert.Contains($"\"resultLocation\":\"{location}\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public void ThroughAPipe_TheRoutingTableIsPrintedOnce_WithEveryCall()
    {
        var header = new Regex(@"│\s*#\s*│\s*sent by\s*│\s*method\s*│");
        var row = new Regex(@"^│\s*\d+\s*│\s*shop-\d+\s*│\s*(GetQuote|PlaceOrder)\s*│");
        var lines = Lines;
        Assert.Equal(1, lines.Count(header.IsMatch));
        var first = Array.FindIndex(lines, header.IsMatch);
        var rows = lines.Skip(first).TakeWhile(l => !l.StartsWith('╰')).Count(row.IsMatch);
        Assert.Equal(QuickstartDemoRun.RoutingCalls, rows);
    }

    [Fact]
    public void TheSummary_SaysWhatEveryCallThatWasNotOkWasFor_AndItsCountsAddUp()
    {
        var cell = new Regex(@"^│\s*(?<label>.+?)\s*│\s*(?<value>\d+)\s*│$");
        var rows = Lines.Select(l => cell.Match(l)).Where(m => m.Success)
            .Select(m => (Label: m.Groups["label"].Value, Value: long.Parse(m.Groups["value"].Value)))
            .ToArray();
        var made = rows.Single(r => r.Label == "calls made (all scenes)").Value;
        var parts = rows.Where(r => r.Label.StartsWith("of which ", StringComparison.Ordinal)).ToArray();
        Assert.Contains(parts, r => r.Label == "of which OK");
        Assert.DoesNotContain(parts, r => r.Label.StartsWith("of which failed unexpectedly", StringComparison.Ordinal));
        // Scene 4's refusals and scene 6's leave, at least, each with the scene that provoked them.
        Assert.Contains(parts, r => r.Label.StartsWith("of which failed on purpose: NotFound (scene 4: ", StringComparison.Ordinal));
        Assert.Contains(parts, r => r.Label.StartsWith("of which failed on purpose: Unavailable (scene 6: ", StringComparison.Ordinal) && r.Value == 12);
        Assert.Equal(made, parts.Sum(r => r.Value));
    }

    [Fact]
    public void TheLogSummary_CountsErrorsApartFromWarnings_AndExplainsTheProvokedOnes()
    {
        // Scene 4's handler failure is an Error, logged by the server and expected.
        var errors = Regex.Match(run.Output, @"^(\d+) error\(s\) logged by the instances, (\d+) of them expected", RegexOptions.Multiline);
        Assert.True(errors.Success, "no error count in the output");
        Assert.Equal(errors.Groups[1].Value, errors.Groups[2].Value);
        Assert.Contains("Expected: a handler that throws", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(".;", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("..", run.Output.Replace("…", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    private static string Around(string text, int index) =>
        index < 0 ? string.Empty : text.Substring(Math.Max(0, index - 60), Math.Min(120, text.Length - Math.Max(0, index - 60))).Replace("\u001b", "\\e", StringComparison.Ordinal);
}
