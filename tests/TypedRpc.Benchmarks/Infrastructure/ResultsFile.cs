using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TypedRpc.Benchmarks.Infrastructure;

/// <summary>
/// results.json and results.md: a run of some scenarios replaces those scenarios in the files and
/// keeps the others, each stamped with when and where it was measured (its ratios are always
/// from one run of its own).
/// </summary>
public static class ResultsFile
{
    public const string JsonName = "results.json";
    public const string MarkdownName = "results.md";

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    public sealed record Document(List<ScenarioRecord> Scenarios);

    public sealed record ScenarioRecord(string Name, string Title, string MeasuredAt, string Machine, string Size, double ElapsedSeconds,
        List<RowRecord> Rows, List<ClaimRecord> Claims, List<string> Notes);

    public sealed record RowRecord(string Label, Dictionary<string, double> Metrics, List<string> Columns);

    public sealed record ClaimRecord(string Name, double Value, TargetKind Kind, double Target, string Unit, bool? Pass);

    public static string Machine =>
        $"{Environment.ProcessorCount} cores, {Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024d * 1024 * 1024))} GB, " +
        $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}";

    public static ScenarioRecord ToRecord(ScenarioResult result, RunSize size) => new(
        result.Name, result.Title, DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture), Machine,
        size.ToString().ToLowerInvariant(), Math.Round(result.Elapsed.TotalSeconds, 1),
        result.Rows.Select(r => new RowRecord(r.Label, r.Metrics.ToDictionary(m => m.Key, m => Math.Round(m.Value, 4)), r.Metrics.Select(m => m.Key).ToList())).ToList(),
        result.Claims.Select(c => new ClaimRecord(c.Name, Math.Round(c.Value, 4), c.Kind, c.Target, c.Unit, c.Pass)).ToList(),
        result.Notes.ToList());

    /// <summary>Merges <paramref name="results"/> into the files in <paramref name="directory"/> and writes both.</summary>
    public static Document Write(string directory, IReadOnlyList<ScenarioResult> results, RunSize size, IReadOnlyList<string> order)
    {
        Directory.CreateDirectory(directory);
        var jsonPath = Path.Combine(directory, JsonName);
        var scenarios = new List<ScenarioRecord>();
        if (File.Exists(jsonPath))
        {
            try
            {
                scenarios = JsonSerializer.Deserialize<Document>(File.ReadAllText(jsonPath), s_json)?.Scenarios ?? new List<ScenarioRecord>();
            }
            catch (JsonException)
            {
                // An unreadable file from an older layout: start again rather than fail the run.
                scenarios = new List<ScenarioRecord>();
            }
        }

        foreach (var result in results)
        {
            scenarios.RemoveAll(s => s.Name == result.Name);
            scenarios.Add(ToRecord(result, size));
        }

        scenarios = scenarios.OrderBy(s => Position(order, s.Name)).ToList();
        var document = new Document(scenarios);
        File.WriteAllText(jsonPath, JsonSerializer.Serialize(document, s_json) + "\n");
        File.WriteAllText(Path.Combine(directory, MarkdownName), Markdown(document, order));
        return document;
    }

    public static Document Read(string path) =>
        JsonSerializer.Deserialize<Document>(File.ReadAllText(path), s_json) ?? throw new InvalidDataException(path + " is empty.");

    public static string Markdown(Document document, IReadOnlyList<string> order)
    {
        var md = new StringBuilder();
        md.AppendLine("# TypedRpc benchmarks");
        md.AppendLine();
        md.AppendLine("Made by `./build.sh bench` (Release). Each scenario starts a fresh librdkafka mock cluster (in process) and a local");
        md.AppendLine("redis-server (the roundtrip and throughput scenarios a local mosquitto too, for the MQTT rows), and gives every");
        md.AppendLine("contender the same request counts, interleaved where they can share a cluster.");
        md.AppendLine("Absolute times on a shared 2-core machine are noise: the figures to read are the **ratios**, each measured side by");
        md.AppendLine("side in one run on one machine.");
        md.AppendLine();
        md.AppendLine("## Targets");
        md.AppendLine();
        md.AppendLine("| scenario | figure | measured | target | met |");
        md.AppendLine("|---|---|---:|---|:---:|");
        foreach (var scenario in document.Scenarios)
        {
            foreach (var claim in scenario.Claims)
            {
                var verdict = claim.Pass switch { true => "yes", false => "**no**", _ => "—" };
                md.AppendLine($"| {scenario.Name} | {claim.Name} | {Format.Number(claim.Value)}{claim.Unit} | {new Claim(claim.Name, claim.Value, claim.Kind, claim.Target, claim.Unit).TargetText} | {verdict} |");
            }
        }

        var n = 0;
        foreach (var scenario in document.Scenarios)
        {
            n++;
            md.AppendLine();
            md.AppendLine($"## {Position(order, scenario.Name) + 1}. {scenario.Name} — {scenario.Title}");
            md.AppendLine();
            md.AppendLine($"Measured {scenario.MeasuredAt} ({scenario.Size} size, {scenario.ElapsedSeconds.ToString(CultureInfo.InvariantCulture)} s) on {scenario.Machine}.");
            md.AppendLine();
            var columns = new List<string>();
            foreach (var row in scenario.Rows)
            {
                foreach (var column in row.Columns)
                {
                    if (!columns.Contains(column))
                    {
                        columns.Add(column);
                    }
                }
            }

            md.AppendLine("| | " + string.Join(" | ", columns) + " |");
            md.AppendLine("|---|" + string.Concat(columns.Select(_ => "---:|")));
            foreach (var row in scenario.Rows)
            {
                md.AppendLine($"| {row.Label} | " + string.Join(" | ", columns.Select(c => row.Metrics.TryGetValue(c, out var v) ? Format.Number(v) : "")) + " |");
            }

            if (scenario.Notes.Count > 0)
            {
                md.AppendLine();
                foreach (var note in scenario.Notes)
                {
                    md.AppendLine("- " + note);
                }
            }
        }

        return md.ToString();
    }

    private static int Position(IReadOnlyList<string> order, string name)
    {
        for (var i = 0; i < order.Count; i++)
        {
            if (order[i] == name)
            {
                return i;
            }
        }

        return order.Count;
    }
}
