using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Spectre.Console;
using TypedRpc.Benchmarks.Infrastructure;
using TypedRpc.Benchmarks.Scenarios;

namespace TypedRpc.Benchmarks;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var scenarioArgument = new Argument<string[]>("scenario")
        {
            Description = "Scenarios to run (default: all): " + string.Join(", ", Catalog.Names),
            Arity = ArgumentArity.ZeroOrMore,
        };
        var smokeOption = new Option<bool>("--smoke") { Description = "Tiny sizes: checks that each scenario runs, measures nothing worth reading." };
        var outOption = new Option<string?>("--out") { Description = "Where results.md and results.json go (default: tests/TypedRpc.Benchmarks/results)." };
        var root = new RootCommand("TypedRpc benchmarks: every figure compared is a ratio measured in the same run.")
        {
            scenarioArgument, smokeOption, outOption,
        };
        root.SetAction(async (parse, cancellationToken) =>
        {
            var names = parse.GetValue(scenarioArgument) ?? Array.Empty<string>();
            var unknown = names.Where(n => !Catalog.Names.Contains(n)).ToArray();
            if (unknown.Length > 0)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]unknown scenario(s): {string.Join(", ", unknown)}[/]; known: {string.Join(", ", Catalog.Names)}");
                return 2;
            }

            var size = parse.GetValue(smokeOption) ? RunSize.Smoke : RunSize.Full;
            var output = parse.GetValue(outOption) ?? DefaultResultsDirectory();
            var scenarios = names.Length == 0 ? Catalog.All : Catalog.All.Where(s => names.Contains(s.Name)).ToList();
            var results = await RunAsync(scenarios, size, output, cancellationToken);
            return results.Count == scenarios.Count ? 0 : 1;
        });
        return await root.Parse(args).InvokeAsync();
    }

    /// <summary>Runs the scenarios one after another, prints each table and the targets, and writes the results files.</summary>
    public static async Task<List<ScenarioResult>> RunAsync(IReadOnlyList<IScenario> scenarios, RunSize size, string output, CancellationToken cancellationToken)
    {
        var results = new List<ScenarioResult>();
        if (Console.IsOutputRedirected)
        {
            // Logs and CI: tables wide enough to read, not wrapped at 80 columns.
            AnsiConsole.Profile.Width = 180;
        }

        AnsiConsole.MarkupLineInterpolated($"[bold]TypedRpc benchmarks[/] ({size.ToString().ToLowerInvariant()}) on {ResultsFile.Machine}");
        foreach (var scenario in scenarios)
        {
            AnsiConsole.MarkupLineInterpolated($"[bold blue]▶ {scenario.Name}[/] — {scenario.Title}");
            var watch = Stopwatch.StartNew();
            var progress = new Progress(scenario.Name, watch);
            try
            {
                var result = await scenario.RunAsync(size, progress, cancellationToken);
                result.Elapsed = watch.Elapsed;
                results.Add(result);
                Print(result);
                // Write after every scenario, so a long run that dies later keeps what it measured.
                ResultsFile.Write(output, results, size, Catalog.Names);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]✗ {scenario.Name} failed after {watch.Elapsed.TotalSeconds:0.0} s:[/] {ex}");
            }
        }

        PrintTargets(results);
        AnsiConsole.MarkupLineInterpolated($"results: {Path.GetFullPath(Path.Combine(output, ResultsFile.MarkdownName))}");
        return results;
    }

    private static void Print(ScenarioResult result)
    {
        var table = new Table().Title($"{result.Name} ({result.Elapsed.TotalSeconds:0.0} s)").AddColumn("");
        var columns = new List<string>();
        foreach (var row in result.Rows)
        {
            foreach (var (name, _) in row.Metrics)
            {
                if (!columns.Contains(name))
                {
                    columns.Add(name);
                    table.AddColumn(new TableColumn(Markup.Escape(name)).RightAligned());
                }
            }
        }

        foreach (var row in result.Rows)
        {
            var cells = new List<string> { Markup.Escape(row.Label) };
            foreach (var column in columns)
            {
                cells.Add(row.Metrics.Any(m => m.Key == column) ? Format.Number(row[column]) : "");
            }

            table.AddRow(cells.ToArray());
        }

        AnsiConsole.Write(table);
        foreach (var note in result.Notes)
        {
            AnsiConsole.MarkupLineInterpolated($"  [grey]{note}[/]");
        }
    }

    private static void PrintTargets(List<ScenarioResult> results)
    {
        var table = new Table().Title("targets (same-run figures)").AddColumn("scenario").AddColumn("figure")
            .AddColumn(new TableColumn("measured").RightAligned()).AddColumn("target").AddColumn("met");
        foreach (var result in results)
        {
            foreach (var claim in result.Claims)
            {
                var verdict = claim.Pass switch { true => "[green]yes[/]", false => "[red]no[/]", _ => "—" };
                table.AddRow(Markup.Escape(result.Name), Markup.Escape(claim.Name), Format.Number(claim.Value) + Markup.Escape(claim.Unit), Markup.Escape(claim.TargetText), verdict);
            }
        }

        AnsiConsole.Write(table);
    }

    /// <summary>tests/TypedRpc.Benchmarks/results, found from the build output up to the project folder.</summary>
    private static string DefaultResultsDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TypedRpc.Benchmarks.csproj")))
            {
                return Path.Combine(dir.FullName, "results");
            }
        }

        return Path.Combine(Directory.GetCurrentDirectory(), "results");
    }

    private sealed class Progress(string scenario, Stopwatch watch) : IProgress<string>
    {
        public void Report(string value) =>
            AnsiConsole.MarkupLineInterpolated($"  [grey]{watch.Elapsed.TotalSeconds,6:0.0}s[/] {scenario}: {value}");
    }
}
