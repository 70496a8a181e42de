using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Benchmarks.Infrastructure;
using TypedRpc.Benchmarks.Scenarios;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.Benchmarks.Tests;

/// <summary>
/// Every scenario at smoke size, so the benchmarks cannot rot: each runs to the end and produces
/// complete, sane results. Speed targets are never asserted here (a shared 2-core machine makes
/// timings noise); only that every figure is there and means something.
/// </summary>
public static class Smoke
{
    public static async Task<ScenarioResult> RunAsync(IScenario scenario, ITestOutputHelper output, TimeSpan? timeout = null)
    {
        var progress = new Progress(output);
        var result = await scenario.RunAsync(RunSize.Smoke, progress, CancellationToken.None).WaitAsync(timeout ?? TimeSpan.FromMinutes(3));
        Assert.Equal(scenario.Name, result.Name);
        Assert.NotEmpty(result.Rows);
        Assert.NotEmpty(result.Claims);
        foreach (var row in result.Rows)
        {
            Assert.NotEmpty(row.Metrics);
            foreach (var (name, value) in row.Metrics)
            {
                Assert.False(double.IsInfinity(value), $"{row.Label}: {name} is infinite.");
                output.WriteLine($"{row.Label}: {name} = {value}");
            }
        }

        foreach (var claim in result.Claims)
        {
            Assert.False(double.IsNaN(claim.Value) || double.IsInfinity(claim.Value), $"{claim.Name} was not measured ({claim.Value}).");
            output.WriteLine($"{claim.Name}: {claim.Value} (target {claim.TargetText}, {claim.Pass})");
        }

        // The results files are written and read back with every figure.
        var directory = Path.Combine(Path.GetTempPath(), "trpc-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            ResultsFile.Write(directory, new[] { result }, RunSize.Smoke, Catalog.Names);
            var document = ResultsFile.Read(Path.Combine(directory, ResultsFile.JsonName));
            var record = Assert.Single(document.Scenarios);
            Assert.Equal(result.Rows.Count, record.Rows.Count);
            Assert.Equal(result.Claims.Count, record.Claims.Count);
            var markdown = File.ReadAllText(Path.Combine(directory, ResultsFile.MarkdownName));
            Assert.All(result.Claims, c => Assert.Contains(c.Name, markdown, StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        return result;
    }

    public static double Figure(ScenarioResult result, string label, string name) =>
        result.Rows.Single(r => r.Label == label)[name];

    private sealed class Progress(ITestOutputHelper output) : IProgress<string>
    {
        public void Report(string value)
        {
            try
            {
                output.WriteLine(value);
            }
            catch (InvalidOperationException)
            {
                // Reported after the test ended (a late progress line): nothing to write to.
            }
        }
    }
}

public sealed class RoundtripSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Roundtrip_EveryContenderCompletesEveryCall()
    {
        var result = await Smoke.RunAsync(new RoundtripScenario(), output);
        Assert.Equal(6, result.Rows.Count);
        Assert.All(result.Rows, r => Assert.Equal(20, r["calls"]));
        Assert.All(result.Rows, r => Assert.True(r["p50 ms"] > 0 && r["p50 ms"] <= r["p99 ms"]));
        Assert.Equal(1.0, Smoke.Figure(result, "raw Confluent.Kafka", "p50 ratio"));
        Assert.Contains(result.Claims, c => c.Name == "p50 raw + Redis claim ÷ raw" && c.Value > 0);
        // MQTT beside Kafka: its rows are measured against raw MQTTnet.
        Assert.Equal(1.0, Smoke.Figure(result, "raw MQTTnet", "p50 ratio"));
        Assert.True(Smoke.Figure(result, "TypedRpc over MQTT (Redis on)", "p50 ratio") > 0);
        Assert.Contains(result.Claims, c => c.Name == "p50 TypedRpc over MQTT ÷ raw MQTT (Redis on)" && c.Value > 0);
        Assert.Contains(result.Claims, c => c.Name == "p99 TypedRpc over MQTT ÷ raw MQTT (Redis on)" && c.Value > 0);
    }
}

public sealed class ThroughputSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Throughput_EveryContenderCompletesEveryCall_AtBothLevels()
    {
        var result = await Smoke.RunAsync(new ThroughputScenario(), output);
        Assert.Equal(10, result.Rows.Count);
        Assert.All(result.Rows, r => Assert.Equal(200, r["calls"]));
        Assert.All(result.Rows, r => Assert.Equal(0, r["failed"]));
        Assert.All(result.Rows, r => Assert.True(r["p50 ms"] > 0 && r["p50 ms"] <= r["p99 ms"], $"{r.Label}: p50 {r["p50 ms"]}, p99 {r["p99 ms"]}"));
        Assert.Equal(1.0, Smoke.Figure(result, "raw MQTTnet, 64 in flight", "÷ raw"));
        // Per level: calls/s ÷ raw with and without Redis, CPU per call raw ÷ TypedRpc, and (when
        // redis-server's CPU can be read) the ratio its CPU alone allows.
        Assert.Equal(2, result.Claims.Count(c => c.Name.StartsWith("calls/s ÷ raw, Redis on", StringComparison.Ordinal)));
        Assert.Equal(2, result.Claims.Count(c => c.Name.StartsWith("CPU per call above idle, raw ÷ TypedRpc", StringComparison.Ordinal)));
        Assert.Equal(2, result.Claims.Count(c => c.Name.StartsWith("calls/s TypedRpc over MQTT ÷ raw MQTT (Redis on)", StringComparison.Ordinal) && c.Value > 0));
        Assert.Equal(2, result.Claims.Count(c => c.Name.StartsWith("CPU per call above idle, raw MQTT ÷ TypedRpc over MQTT", StringComparison.Ordinal)));
    }
}

/// <summary>Alone: the reply counters read the whole process's TypedRpc meter.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "alone";
}

[Collection(AloneCollection.Name)]
public sealed class FanOutSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task FanOut_CountsRecordsPerReply_InEveryRouting()
    {
        var result = await Smoke.RunAsync(new FanOutScenario(), output);
        Assert.Equal(6, result.Rows.Count);
        Assert.All(result.Rows, r => Assert.Equal(0, r["failed"]));
        // Every reply is read at least once; broadcast reads each one on every instance.
        Assert.All(result.Rows, r => Assert.True(r["records/reply"] >= 1.0, $"{r.Label}: {r["records/reply"]}"));
        Assert.Equal(2.0, Smoke.Figure(result, "N=2, broadcast", "records/reply"), 1);
    }
}

public sealed class MembershipSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Membership_MeasuresEveryEvent_AndCountsLostCalls()
    {
        var result = await Smoke.RunAsync(new MembershipScenario(), output);
        foreach (var routing in new[] { "leased partitions", "broadcast" })
        {
            foreach (var phase in new[] { "steady", "join (A, B, C)", "graceful leave", "crash" })
            {
                Assert.True(Smoke.Figure(result, $"{routing}, {phase}", "calls") > 0, $"{routing}, {phase}: no calls measured");
            }
        }

        Assert.Contains(result.Claims, c => c.Name == "calls lost, leased partitions");
        Assert.Contains(result.Claims, c => c.Name == "crash adopted within, leases" && c.Value > 0);
    }
}

public sealed class OverheadSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Overhead_MeasuresEveryContender()
    {
        var result = await Smoke.RunAsync(new OverheadScenario(), output);
        Assert.Equal(3, result.Rows.Count);
        Assert.All(result.Rows, r => Assert.True(r["bytes/call"] > 0 && r["ns/call"] > 0));
    }
}

public sealed class StoreSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Store_MeasuresEveryOperation()
    {
        var result = await Smoke.RunAsync(new StoreScenario(), output);
        Assert.Equal(6, result.Rows.Count);
        Assert.All(result.Rows, r => Assert.Equal(200, r["ops"]));
        Assert.All(result.Rows, r => Assert.True(r["client CPU µs/op"] > 0, $"{r.Label}: no CPU measured"));
    }
}

public sealed class WaitersSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Waiters_EveryCallTimesOut_AndMemoryIsMeasured()
    {
        var result = await Smoke.RunAsync(new WaitersScenario(), output);
        var row = Assert.Single(result.Rows);
        Assert.True(row["bytes/call"] > 0);
        // No timeout fires early (the wheel rounds up); 1 ms of clock granularity aside. This
        // failed (up to 4 ms early) while the wheel's clock was Environment.TickCount64.
        Assert.True(row["early max ms"] <= 1.5, $"a timeout fired {row["early max ms"]} ms early");
    }
}

public sealed class GeneratorSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Generator_GeneratesEveryContract_AndCachesOnAnUnrelatedEdit()
    {
        var result = await Smoke.RunAsync(new GeneratorScenario(), output);
        Assert.Equal(60, Smoke.Figure(result, "20 contracts × 10 methods, from scratch", "files"));
        Assert.Equal(0, Smoke.Figure(result, "re-run after an unrelated edit", "outputs regenerated"));
    }
}

public sealed class AotSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Aot_BothKindsOfTheSamplePassTheirChecks_AndEveryFigureIsMeasured()
    {
        // Two publishes (Native AOT about a minute on 2 cores) before the runs.
        var result = await Smoke.RunAsync(new AotScenario(), output, TimeSpan.FromMinutes(12));
        Assert.Equal(7, result.Rows.Count);
        foreach (var row in result.Rows.Where(r => r.Label != "published size"))
        {
            Assert.True(row["first call ms (median)"] > 0, row.Label);
            Assert.True(row["working set MB (median)"] > 1, row.Label);
        }

        Assert.True(Smoke.Figure(result, "published size", "Native AOT executable MB") > 1);
        Assert.Equal(6, result.Claims.Count);
        Assert.All(result.Claims, c => Assert.True(c.Value > 0, c.Name));
    }
}
