using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.IntegrationTests.Reliability;

public sealed partial class ReliabilityTests
{
    /// <summary>
    /// Client instances join and leave (gracefully: stopped while their own calls are still
    /// waiting) every second or so under a steady load from all of them. Every call that was sent
    /// gets its reply: leases move between instances, replies on a partition that changed hands
    /// are forwarded, and a stopping client waits for its calls (ShutdownDrainTimeout). Calls that
    /// reach a client after it began to stop are refused at once ("is shutting down", never sent)
    /// and counted apart.
    /// </summary>
    [Fact]
    public async Task R3_ClientInstancesAddedAndRemovedUnderLoad_NoReplyLost()
    {
        var calls = ReliabilitySize.Pick(20_000, 4_000);
        var changes = ReliabilitySize.Pick(24, 8);
        await using var cluster = new ReliabilityCluster(redis.Configuration);
        for (var i = 0; i < 3; i++)
        {
            await cluster.StartAsync(client: false, server: true);
        }

        var live = new List<IServiceProvider>();
        for (var i = 0; i < 3; i++)
        {
            live.Add(await cluster.StartAsync(client: true, server: false));
        }

        await cluster.WaitForServersAsync(Settle);
        await WarmUpAsync([.. live]);
        cluster.Effects.Clear();
        var deliveredBefore = (Direct: _metrics["typedrpc.client.replies.delivered[route=direct]"], Forwarded: _metrics["typedrpc.client.replies.delivered[route=forwarded]"]);

        var current = live.ToArray();
        var outcomes = new CallOutcomes();
        var succeeded = new ConcurrentBag<string>();
        var timeout = TimeSpan.FromSeconds(20);
        var clock = Stopwatch.StartNew();
        // ~400 calls a second from up to 200 callers, spread over whichever client instances are live.
        // A call that picked an instance just as it began to stop is refused before anything is sent.
        const double PerSecond = 400;
        var load = LoadAsync(n =>
            {
                var instances = Volatile.Read(ref current);
                return instances[n % instances.Length];
            }, calls, workers: 200, timeout, outcomes, succeeded,
            n => 5 + (n % 150), PerSecond, ex => ex.StatusCode == RpcStatusCode.Unavailable && ex.Status.Detail == "The client is shutting down.");

        // Alternately a new instance joins and the oldest leaves, while every instance has calls waiting.
        int joins = 0, leaves = 0;
        var leaveTimes = new List<double>();
        var joinTimes = new List<double>();
        while (!load.IsCompleted && joins + leaves < changes)
        {
            // Spaced so that all the changes fit in the load's duration even when a join or leave is slow.
            await Task.WhenAny(load, Task.Delay(TimeSpan.FromMilliseconds(calls / PerSecond * 1_000 / (changes * 2))));
            if (load.IsCompleted)
            {
                break;
            }

            if ((joins + leaves) % 2 == 0)
            {
                var t = Stopwatch.StartNew();
                live.Add(await cluster.StartAsync(client: true, server: false));
                joinTimes.Add(t.Elapsed.TotalMilliseconds);
                joins++;
            }
            else
            {
                var leaving = live[0];
                live.RemoveAt(0);
                Volatile.Write(ref current, live.ToArray());
                var pending = ((RpcClient)leaving.GetService(typeof(RpcClient))!).PendingCount;
                var t = Stopwatch.StartNew();
                await cluster.StopAsync(leaving);
                leaveTimes.Add(t.Elapsed.TotalMilliseconds);
                Print("R3", $"instance left with {pending} calls waiting; stop took {t.Elapsed.TotalMilliseconds:0} ms");
                leaves++;
                continue;
            }

            Volatile.Write(ref current, live.ToArray());
        }

        var refused = await load;
        var elapsed = clock.Elapsed;
        var sent = calls - refused;
        var direct = _metrics["typedrpc.client.replies.delivered[route=direct]"] - deliveredBefore.Direct;
        var forwarded = _metrics["typedrpc.client.replies.delivered[route=forwarded]"] - deliveredBefore.Forwarded;
        var twice = cluster.Effects.Count(kv => kv.Value > 1);
        Print("R3", cluster.Settings.DescribeKnobs());
        Print("R3", $"{calls} calls in {elapsed.TotalSeconds:0.0} s while {joins} client instances joined and {leaves} left (stop took max {leaveTimes.DefaultIfEmpty(0).Max():0} ms, join max {joinTimes.DefaultIfEmpty(0).Max():0} ms); outcomes: {outcomes}");
        Print("R3", $"sent {sent}, replies lost (sent, not OK): {sent - outcomes.Ok}; refused at an instance that was stopping (never sent): {refused}; "
            + $"replies delivered direct {direct}, forwarded {forwarded}; ids run more than once: {twice}");

        Assert.True(joins + leaves >= changes * 3 / 4 && leaves >= changes / 4, $"Only {joins} joins and {leaves} leaves happened during the load.");
        Assert.Empty(outcomes.Unexplained);
        if (outcomes.Failures.Count > 0)
        {
            Print("R3", "not answered: " + string.Join("; ", outcomes.Failures));
        }

        Assert.Equal(sent, outcomes.Ok);
        Assert.Equal(0, twice);
        Assert.True(refused < calls / 100, $"{refused} calls were refused by stopping instances.");
    }
}
