using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using TypedRpc.Benchmarks.Infrastructure;
using TypedRpc.Benchmarks.InMemory;

namespace TypedRpc.Benchmarks.Scenarios;

/// <summary>
/// 5. What the engine itself costs: one sequential request/reply on in-memory transports,
/// TypedRpc against MassTransit's request client, bytes allocated and time per call.
/// Full size: BenchmarkDotNet (in process, MemoryDiagnoser). Smoke size: a plain loop.
/// </summary>
public sealed class OverheadScenario : IScenario
{
    public string Name => "overhead";

    public string Title => "in-memory transport: TypedRpc vs MassTransit request client, per call";

    public async Task<ScenarioResult> RunAsync(RunSize size, IProgress<string> progress, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name, Title);
        double typedNs, typedBytes, massNs, massBytes, directNs, directBytes;
        if (size == RunSize.Full)
        {
            progress.Report("BenchmarkDotNet, in process, MemoryDiagnoser (about a minute)");
            (typedNs, typedBytes, massNs, massBytes, directNs, directBytes) = RunBenchmarkDotNet(result);
        }
        else
        {
            (typedNs, typedBytes, massNs, massBytes, directNs, directBytes) = await RunLoopAsync(200, progress);
            result.Notes.Add("Smoke size: a plain loop of 200 calls per contender (GC.GetTotalAllocatedBytes over every thread), not BenchmarkDotNet.");
        }

        result.Row("TypedRpc").Add("ns/call", typedNs).Add("calls/s", 1e9 / typedNs).Add("bytes/call", typedBytes);
        result.Row("MassTransit 8.5.12").Add("ns/call", massNs).Add("calls/s", 1e9 / massNs).Add("bytes/call", massBytes);
        result.Row("direct, no RPC (the user's part)").Add("ns/call", directNs).Add("calls/s", 1e9 / directNs).Add("bytes/call", directBytes);
        result.Claim("TypedRpc bytes per call", typedBytes, TargetKind.AtMost, 1024, " B");
        result.Claim("bytes per call of the user's part (no RPC)", directBytes, TargetKind.Info, 0, " B");
        result.Claim("TypedRpc bytes per call beyond the user's part", typedBytes - directBytes, TargetKind.Info, 0, " B");
        result.Claim("bytes per call, MassTransit ÷ TypedRpc", massBytes / typedBytes, TargetKind.AtLeast, 5);
        result.Claim("calls/s, TypedRpc ÷ MassTransit", massNs / typedNs, TargetKind.AtLeast, 3);
        result.Notes.Add("One sequential call at a time: client and server each in their own container over one in-memory transport (TypedRpc: no ownership store; MassTransit: UsingInMemory, ConfigureEndpoints). Same request and reply records for both. Bytes are every thread's allocations per call (server side included).");
        return result;
    }

    private static (double, double, double, double, double, double) RunBenchmarkDotNet(ScenarioResult result)
    {
        var artifacts = Path.Combine(AppContext.BaseDirectory, "BenchmarkDotNet.Artifacts");
        var job = Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(12)
            .WithIterationTime(TimeInterval.FromMilliseconds(300));
        var config = ManualConfig.CreateEmpty().AddJob(job).AddDiagnoser(MemoryDiagnoser.Default).AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(BenchmarkDotNet.Loggers.NullLogger.Instance).AddExporter(BenchmarkDotNet.Exporters.MarkdownExporter.GitHub).WithArtifactsPath(artifacts);
        var summary = BenchmarkRunner.Run<OverheadBenchmarks>(config);
        double Ns(string method) => Report(method).ResultStatistics?.Mean ?? throw new InvalidOperationException($"BenchmarkDotNet measured nothing for {method}: {string.Join("; ", summary.ValidationErrors.Select(e => e.Message))}");
        double Bytes(string method)
        {
            var report = Report(method);
            return report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? double.NaN;
        }

        BenchmarkDotNet.Reports.BenchmarkReport Report(string method) =>
            summary.Reports.FirstOrDefault(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method)
            ?? throw new InvalidOperationException($"BenchmarkDotNet has no report for {method}: {string.Join("; ", summary.ValidationErrors.Select(e => e.Message))}");

        result.Notes.Add($"BenchmarkDotNet 0.14.0, InProcessEmitToolchain, 3 warm-up + 12 iterations of ~300 ms each; its own report is in {artifacts} (not committed).");
        return (Ns(nameof(OverheadBenchmarks.TypedRpc)), Bytes(nameof(OverheadBenchmarks.TypedRpc)), Ns(nameof(OverheadBenchmarks.MassTransit)), Bytes(nameof(OverheadBenchmarks.MassTransit)),
            Ns(nameof(OverheadBenchmarks.Direct)), Bytes(nameof(OverheadBenchmarks.Direct)));
    }

    /// <summary>The same measurement without BenchmarkDotNet: interleaved loops, every thread's allocations.</summary>
    internal static async Task<(double TypedNs, double TypedBytes, double MassNs, double MassBytes, double DirectNs, double DirectBytes)> RunLoopAsync(int calls, IProgress<string> progress)
    {
        await using var typed = await TypedRpcInMemory.StartAsync();
        await using var mass = await MassTransitInMemory.StartAsync();
        for (var i = 0; i < 100; i++)
        {
            await typed.CallAsync();
            await mass.CallAsync();
            await DirectCall.CallAsync();
        }

        long typedTicks = 0, massTicks = 0, typedBytes = 0, massBytes = 0, directTicks = 0, directBytes = 0;
        for (var round = 0; round < 4; round++)
        {
            (typedTicks, typedBytes) = Add((typedTicks, typedBytes), await MeasureAsync(typed.CallAsync, calls / 4));
            (massTicks, massBytes) = Add((massTicks, massBytes), await MeasureAsync(mass.CallAsync, calls / 4));
            (directTicks, directBytes) = Add((directTicks, directBytes), await MeasureAsync(DirectCall.CallAsync, calls / 4));
        }

        progress.Report($"{calls} calls each");
        var n = (double)(calls / 4 * 4);
        return (typedTicks * 1e9 / Stopwatch.Frequency / n, typedBytes / n, massTicks * 1e9 / Stopwatch.Frequency / n, massBytes / n, directTicks * 1e9 / Stopwatch.Frequency / n, directBytes / n);
    }

    private static (long, long) Add((long, long) a, (long, long) b) => (a.Item1 + b.Item1, a.Item2 + b.Item2);

    private static async Task<(long Ticks, long Bytes)> MeasureAsync(Func<Task> call, int calls)
    {
        var bytes = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            await call();
        }

        var ticks = Stopwatch.GetTimestamp() - started;
        return (ticks, GC.GetTotalAllocatedBytes(precise: true) - bytes);
    }
}
