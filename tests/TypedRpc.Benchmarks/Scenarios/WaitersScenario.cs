using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Benchmarks.Contract;
using TypedRpc.Benchmarks.Infrastructure;
using TypedRpc.Hosting;
using TypedRpc.InMemory;

namespace TypedRpc.Benchmarks.Scenarios;

/// <summary>
/// 6. A million calls waiting at once on one client (in-memory transport, no store): managed
/// memory per pending call, and how late their timeouts fire.
/// </summary>
public sealed class WaitersScenario : IScenario
{
    public string Name => "waiters";

    public string Title => "1,000,000 pending calls: memory per call and timeout lateness";

    public async Task<ScenarioResult> RunAsync(RunSize size, IProgress<string> progress, CancellationToken cancellationToken)
    {
        var full = size == RunSize.Full;
        var count = full ? 1_000_000 : 20_000;
        // Every deadline falls after all calls are made (so memory is measured with all of them
        // waiting), spread over a few seconds so the wheel fires them a slot at a time.
        var baseTimeoutMs = full ? 25_000 : 3_000;
        var spreadMs = full ? 5_000 : 1_000;
        var result = new ScenarioResult(Name, Title);

        var transport = new InMemoryRpcTransport();
        var services = new ServiceCollection();
        services.AddTypedRpc(o =>
        {
            o.EnableOwnership = false;
            o.EnableClaims = false;
            o.MaxPendingCalls = count + 1_000;
        }).UseInMemoryTransport(transport).AddClient<IBenchService>();
        await using var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        var client = provider.GetRequiredService<IBenchService>();
        // A server that takes every request and never answers: the calls wait for their deadlines,
        // and the transport keeps no request (each is acknowledged as it is taken).
        await using var blackHole = await transport.SubscribeRequestsAsync(BenchServiceDescriptor.Service, static (_, _) => ValueTask.CompletedTask, CancellationToken.None);

        var request = BenchService.Sample;
        for (var i = 0; i < 1_000; i++)
        {
            await client.HoldAsync(request, RpcCallOptions.Default.WithTimeout(TimeSpan.FromMilliseconds(1)));
        }

        var tasks = new Task<RpcResult<QuoteReply>>[count];
        var started = new long[count];
        var timeouts = new int[count];
        var ended = new long[count];
        var options = new RpcCallOptions[spreadMs];
        for (var i = 0; i < spreadMs; i++)
        {
            options[i] = RpcCallOptions.Default.WithTimeout(TimeSpan.FromMilliseconds(baseTimeoutMs + i));
        }

        var deliveredBefore = transport.Deliveries;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        progress.Report($"making {count:N0} calls");
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var k = (int)((uint)(i * 7919) % (uint)spreadMs);
            timeouts[i] = baseTimeoutMs + k;
            started[i] = Stopwatch.GetTimestamp();
            tasks[i] = client.HoldAsync(request, options[k]);
        }

        var makeSeconds = watch.Elapsed.TotalSeconds;
        while (transport.Deliveries - deliveredBefore < count && watch.ElapsedMilliseconds < baseTimeoutMs)
        {
            await Task.Delay(10);
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        var pending = provider.GetRequiredService<RpcClient>().PendingCount;
        var heap = GC.GetGCMemoryInfo().HeapSizeBytes;
        progress.Report($"{pending:N0} pending after {makeSeconds:0.0} s; {(after - before) / 1048576d:0.0} MB; waiting for the timeouts");
        if (pending < count)
        {
            throw new InvalidOperationException($"Only {pending} of {count} calls were pending when memory was measured; the base timeout is too short for this machine.");
        }

        // Observe each completion the moment it happens (synchronously on the completing thread),
        // and learn that all have ended from a countdown rather than Task.WhenAll: WhenAll would add
        // a second continuation to each of the million tasks (turning its continuation slot into a
        // list) and allocate a million results while the deadlines come due — the benchmark's own
        // garbage, collected over ~250 MB of live waiters, is what its lateness figure then measured.
        var remaining = count;
        var allEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < count; i++)
        {
            _ = tasks[i].ContinueWith((_, state) =>
            {
                ended[(int)state!] = Stopwatch.GetTimestamp();
                if (Interlocked.Decrement(ref remaining) == 0)
                {
                    allEnded.TrySetResult();
                }
            }, i, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        // The observers above are the benchmark's; collected now, before the first deadline, so the
        // GC figures below are the engine's. (The first deadline is seconds away: see baseTimeoutMs.)
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        if (watch.ElapsedMilliseconds >= baseTimeoutMs)
        {
            throw new InvalidOperationException("The first deadlines came due before the observers were in place; the base timeout is too short for this machine.");
        }

        // What the runtime spent in GC pauses, and allocated, while the deadlines came due.
        var pausedBefore = GC.GetTotalPauseDuration();
        var gen2Before = GC.CollectionCount(2);
        var gcsBefore = GC.CollectionCount(0);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        await allEnded.Task;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var paused = GC.GetTotalPauseDuration() - pausedBefore;
        var gen2 = GC.CollectionCount(2) - gen2Before;
        var gcs = GC.CollectionCount(0) - gcsBefore;
        var notPending = 0;
        var late = new double[count];
        for (var i = 0; i < count; i++)
        {
            if (!tasks[i].Result.IsPending)
            {
                notPending++;
            }

            late[i] = Stats.Ms(started[i], ended[i]) - timeouts[i];
        }

        if (notPending > 0)
        {
            throw new InvalidOperationException($"{notPending} calls ended otherwise than Pending.");
        }

        Array.Sort(late);
        var bytesPerCall = (after - before) / (double)count;
        var p50 = Stats.Percentile(late, 0.50);
        var p99 = Stats.Percentile(late, 0.99);
        result.Row($"{count:N0} pending calls").Add("MB in all", (after - before) / 1048576d).Add("bytes/call", bytesPerCall).Add("heap MB", heap / 1048576d)
            .Add("calls made/s", count / makeSeconds).Add("late p50 ms", p50).Add("late p99 ms", p99).Add("late max ms", late[^1]).Add("early max ms", Math.Max(0, -late[0]))
            .Add("GC paused ms", paused.TotalMilliseconds).Add("GCs", gcs).Add("gen2 GCs", gen2).Add("bytes allocated per timeout", allocated / (double)count);
        var scale = 1_000_000d / count;
        result.Claim("managed memory for 1,000,000 pending calls", (after - before) * scale / 1048576d, TargetKind.AtMost, 250, " MB");
        result.Claim("timeouts fire late by, p99", p99, TargetKind.AtMost, 20, " ms");
        result.Notes.Add($"One client, in-memory transport, no ownership store; a server that takes each request and never answers. Timeouts {baseTimeoutMs / 1000d:0.#}–{(baseTimeoutMs + spreadMs) / 1000d:0.#} s, spread evenly; each call's result is Pending (RpcResult), so no exception per timeout.");
        result.Notes.Add("Memory: GC.GetTotalMemory(forceFullCollection) after all calls were taken by the server, minus before (the benchmark's own arrays are allocated first). Lateness: the moment the caller's task completed minus (call start + timeout). GC paused, GCs (all generations), gen2 GCs and bytes allocated per timeout: while the deadlines came due, after the benchmark's own observers were collected.");
        if (!full)
        {
            result.Notes.Add($"Smoke size: {count:N0} calls; the memory figure is scaled to 1,000,000.");
        }

        return result;
    }
}
