using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Benchmarks.Infrastructure;

namespace TypedRpc.Benchmarks.Scenarios;

/// <summary>
/// 9. Native AOT: samples/AotService published with PublishAot against the same sample published
/// for the JIT (framework-dependent, started by <c>dotnet</c>), each run as a fresh process in
/// turns: the time from the process's start to its first completed call, and its working set after
/// its checks, over the in-memory transport, over Kafka (embedded mock) + Redis and over MQTT 5 (a mosquitto
/// it starts) + Redis.
/// </summary>
public sealed partial class AotScenario : IScenario
{
    public string Name => "aot";

    public string Title => "samples/AotService, Native AOT vs JIT: start-up to the first completed call, working set";

    public async Task<ScenarioResult> RunAsync(RunSize size, IProgress<string> progress, CancellationToken cancellationToken)
    {
        var runs = size == RunSize.Full ? 7 : 1;
        var root = Root();
        var project = Path.Combine(root, "samples", "AotService", "AotService.csproj");
        var output = Path.Combine(root, ".artifacts", "bench-aot");
        var aot = Path.Combine(output, "aot");
        var jit = Path.Combine(output, "jit");

        progress.Report("publishing with Native AOT");
        await RunAsync("dotnet", ["publish", project, "-c", "Release", "-r", "linux-x64", "-o", aot, "-nologo"], root, TimeSpan.FromMinutes(10), cancellationToken);
        progress.Report("publishing for the JIT");
        await RunAsync("dotnet", ["publish", project, "-c", "Release", "-p:PublishAot=false", "-o", jit, "-nologo"], root, TimeSpan.FromMinutes(10), cancellationToken);

        var result = new ScenarioResult(Name, Title);
        foreach (var transport in new[] { "memory", "kafka", "mqtt" })
        {
            var measured = new Dictionary<string, (List<double> FirstCall, List<double> WorkingSet)>
            {
                ["aot"] = ([], []),
                ["jit"] = ([], []),
            };
            for (var r = 0; r < runs; r++)
            {
                // In turns, so that both meet the same machine.
                foreach (var kind in new[] { "aot", "jit" })
                {
                    progress.Report($"{transport}: {kind} run {r + 1}/{runs}");
                    var text = kind == "aot"
                        ? await RunAsync(Path.Combine(aot, "AotService"), ["--transport", transport], root, TimeSpan.FromMinutes(2), cancellationToken)
                        : await RunAsync("dotnet", [Path.Combine(jit, "AotService.dll"), "--transport", transport], root, TimeSpan.FromMinutes(2), cancellationToken);
                    if (!text.Contains($"runtime={kind} ", StringComparison.Ordinal) || !text.Contains("result: every check held", StringComparison.Ordinal))
                    {
                        throw new InvalidOperationException($"The {kind} sample ({transport}) did not pass its checks:\n{text}");
                    }

                    measured[kind].FirstCall.Add(Figure(text, "first-call-ms"));
                    measured[kind].WorkingSet.Add(Figure(text, "working-set-mb"));
                }
            }

            var label = transport switch { "memory" => "in-memory transport", "kafka" => "Kafka (mock) + Redis", _ => "MQTT 5 (mosquitto) + Redis" };
            foreach (var kind in new[] { "aot", "jit" })
            {
                result.Row($"{label}, {(kind == "aot" ? "Native AOT" : "JIT")}")
                    .Add("first call ms (median)", Median(measured[kind].FirstCall))
                    .Add("working set MB (median)", Median(measured[kind].WorkingSet))
                    .Add("runs", runs);
            }

            var name = transport switch { "memory" => "in-memory", "kafka" => "Kafka + Redis", _ => "MQTT + Redis" };
            result.Claim($"start-up to first call, AOT ÷ JIT, {name}", Median(measured["aot"].FirstCall) / Median(measured["jit"].FirstCall), TargetKind.Info, double.NaN);
            result.Claim($"working set, AOT ÷ JIT, {name}", Median(measured["aot"].WorkingSet) / Median(measured["jit"].WorkingSet), TargetKind.Info, double.NaN);
        }

        // The executable alone: both publish folders also hold the native libraries of the packages
        // (librdkafka's builds, Garnet's from DevServices), the same for either kind.
        result.Row("published size")
            .Add("Native AOT executable MB", new FileInfo(Path.Combine(aot, "AotService")).Length / (1024.0 * 1024.0));
        result.Notes.Add($"Each figure is the median of {runs} fresh processes per kind, run in turns. First call: from the process's start (its StartTime) to the first completed call, so it includes the runtime's start, the host's start, the embedded Kafka mock cluster or a mosquitto, and a redis-server the sample starts, the consumer group's join (Kafka) and the call. Working set: Environment.WorkingSet after the sample's checks (a round trip, a record round trip, a 5-item stream, an error status).");
        return result;
    }

    private static double Figure(string text, string name)
    {
        var match = Regex.Match(text, Regex.Escape(name) + @"=(\d+(\.\d+)?)");
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : throw new InvalidOperationException($"No {name} in:\n{text}");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static async Task<string> RunAsync(string program, string[] arguments, string directory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        var text = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (text) { text.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (text) { text.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} did not end within {timeout}:\n{text}");
        }

        process.WaitForExit();
        lock (text)
        {
            return process.ExitCode == 0 ? text.ToString() : throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{text}");
        }
    }

    private static string Root()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "TypedRpc.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("TypedRpc.sln was not found above " + AppContext.BaseDirectory);
    }
}
