using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Tests.Support;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// A review's demonstrations of defects in the claim leases (c7ea9c1), kept as regression tests of
/// the fixes: fencing, the end of a long stream, waiting duplicates without slots, quick stops.
/// </summary>
public sealed class ReviewClaimTests
{
    private static void ShortClaims(TypedRpcOptions o)
    {
        o.StoreOperationTimeout = TimeSpan.FromMilliseconds(200);
        o.ClaimTimeToLive = TimeSpan.FromMilliseconds(600);
    }

    // (1) Renewals that fail for longer than a claim's time to live let a waiting duplicate take the
    // request over while the holder is alive: the holder fences itself (its handler is cancelled
    // before the claim can expire), so the request still runs once.
    [Fact]
    public async Task TransientRenewalFailure_FencesTheHolder_TheRequestRunsOnce()
    {
        await using var cluster = new TestCluster();
        var store = new FlakyStore(cluster.Store) { FailRenewals = true };
        var node = await cluster.StartAsync(configure: ShortClaims, decorate: store.Use);
        cluster.Transport.Faults.DuplicateEveryRequest = true;
        _ = Task.Delay(900).ContinueWith(_ => store.FailRenewals = false); // a ~0.9 s blip (1.5 x TTL)
        var key = "blip-" + Guid.NewGuid().ToString("N");

        await node.Client.EffectAsync(key, 2_000, RpcCallOptions.Default).WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(2_500);

        Assert.Equal(1, cluster.State.SideEffects[key]);
    }

    // (2) A stream longer than MaxCachedStreamReplies completed its claim with no replies before the
    // final send; when that send failed, the redelivery re-sent nothing and the caller never got the
    // end. Now the final message is stored, and the redelivery re-sends it.
    [Theory]
    [InlineData(2)]      // overflowed: the end alone is stored
    [InlineData(1_000)]  // every reply stored
    public async Task FinalSendFailure_TheRedeliveryResendsTheEnd(int maxCached)
    {
        await using var cluster = new TestCluster();
        var transport = new FlakyTransport(cluster.Transport) { FailFirstEnd = true };
        var node = await cluster.StartAsync(configure: o => o.MaxCachedStreamReplies = maxCached, decorate: s =>
        {
            s.RemoveAll<IRpcTransport>();
            s.AddSingleton<IRpcTransport>(transport);
        });

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        var items = new List<int>();
        var completed = false;
        try
        {
            await foreach (var item in node.Client.StreamAsync(5, -1, 0, cts.Token))
            {
                items.Add(item);
            }

            completed = true;
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException)
        {
        }

        Assert.True(completed);
        Assert.Equal([0, 1, 2, 3, 4], items);
        Assert.True(cluster.Transport.Redeliveries >= 1);
    }

    // (3) Waiting duplicates held MaxConcurrentRequests slots until their deadline, so two retries of
    // long-running requests (say, upstream retries with an Idempotency-Key) starved unrelated calls.
    // They wait without a slot now.
    [Fact]
    public async Task WaitingDuplicates_DoNotStarveUnrelatedRequests()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(configure: o => { ShortClaims(o); o.MaxConcurrentRequests = 2; o.ShutdownDrainTimeout = TimeSpan.FromMilliseconds(200); });
        var calls = new List<Task>();
        for (var i = 0; i < 2; i++)
        {
            var key = "long-" + i + Guid.NewGuid().ToString("N");
            var id = CorrelationId.FromIdempotencyKey(TestServiceDescriptor.OptionsMethod.FullName, key);
            await cluster.Store.TryClaimAsync(id, "other-server/" + i, TimeSpan.FromMinutes(1), default); // a live holder elsewhere
            calls.Add(node.Client.OptionsAsync(0, RpcCallOptions.Default.WithIdempotencyKey(key).WithTimeout(TimeSpan.FromSeconds(5))));
        }

        await Task.Delay(300);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        Assert.Equal(7, await node.Client.EchoAsync(7, 0, timeout.Token));
        Assert.All(calls, c => Assert.False(c.IsCompleted)); // the duplicates still wait for their holder
    }

    // (4) A waiting duplicate counted as running: a graceful stop waited the whole drain timeout for
    // it. It stops waiting at once now (left unacknowledged for the next member).
    [Fact]
    public async Task AWaitingDuplicate_DoesNotHoldUpAStop()
    {
        await using var cluster = new TestCluster();
        var observing = new HandlerObservingTransport(cluster.Transport);
        var node = await cluster.StartAsync(configure: o => { ShortClaims(o); o.ShutdownDrainTimeout = TimeSpan.FromSeconds(3); }, decorate: s =>
        {
            s.RemoveAll<IRpcTransport>();
            s.AddSingleton<IRpcTransport>(observing);
        });
        var key = "held-" + Guid.NewGuid().ToString("N");
        var id = CorrelationId.FromIdempotencyKey(TestServiceDescriptor.OptionsMethod.FullName, key);
        await cluster.Store.TryClaimAsync(id, "other-server/1", TimeSpan.FromMinutes(1), default);
        using var caller = new CancellationTokenSource();
        _ = node.Client.OptionsAsync(0, RpcCallOptions.Default.WithIdempotencyKey(key).WithTimeout(TimeSpan.FromSeconds(30)).WithCancellationToken(caller.Token));
        await Task.Delay(300);

        // The caller gives up (so the client half of the node has nothing to wait for on stop);
        // the request's duplicate still waits on the server.
        caller.Cancel();
        var watch = Stopwatch.StartNew();
        await node.StopAsync();

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), watch.Elapsed.ToString());

        // The delivery is handed back as abandoned, which a transport leaves uncommitted without
        // retrying it, dead-lettering it or logging a failure (before, a bare TaskCanceledException
        // reached the Kafka consumer before its own stop and was logged as a failed attempt).
        var thrown = await observing.Thrown.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsType<RpcDeliveryAbandonedException>(thrown);
    }

    private sealed class HandlerObservingTransport(IRpcTransport inner) : DelegatingTransport(inner)
    {
        public TaskCompletionSource<Exception> Thrown { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override ValueTask<IAsyncDisposable> SubscribeRequestsAsync(RpcServiceDescriptor service, RpcRequestHandler handler, CancellationToken cancellationToken) =>
            base.SubscribeRequestsAsync(service, async (request, token) =>
            {
                try
                {
                    await handler(request, token);
                }
                catch (Exception ex)
                {
                    Thrown.TrySetResult(ex);
                    throw;
                }
            }, cancellationToken);
    }

    // (5) Storing the result failed once: the claim was dropped from renewal while still "running",
    // so it expired and a waiting duplicate ran the request again. Now it stays held (renewed) and
    // completing is retried; the duplicate gets the stored reply.
    [Fact]
    public async Task FailedCompletion_StaysClaimedAndIsRetried_TheDuplicateGetsTheStoredReply()
    {
        await using var cluster = new TestCluster();
        var store = new FlakyStore(cluster.Store) { FailCompletions = true };
        var node = await cluster.StartAsync(configure: ShortClaims, decorate: store.Use);
        cluster.Transport.Faults.DuplicateEveryRequest = true;
        _ = Task.Delay(1_500).ContinueWith(_ => store.FailCompletions = false); // 2.5 x the claim's time to live
        var key = "complete-" + Guid.NewGuid().ToString("N");

        Assert.Equal(1, await node.Client.EffectAsync(key, 200, RpcCallOptions.Default.WithIdempotencyKey(key)).WaitAsync(TimeSpan.FromSeconds(10)));
        await Task.Delay(2_500);

        Assert.Equal(1, cluster.State.SideEffects[key]);
        Assert.True(store.FailedCompletions >= 1);
        var id = CorrelationId.FromIdempotencyKey(TestServiceDescriptor.EffectMethod.FullName, key);
        var claim = await cluster.Store.TryClaimAsync(id, "probe", TimeSpan.FromSeconds(1), default);
        Assert.Equal(RpcClaimState.Completed, claim.State);
    }

    private sealed class FlakyTransport(IRpcTransport inner) : DelegatingTransport(inner)
    {
        public volatile bool FailFirstEnd;

        public override ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken)
        {
            if (reply.IsEnd && FailFirstEnd)
            {
                FailFirstEnd = false;
                throw new InvalidOperationException("broker blip");
            }

            return base.SendReplyAsync(address, reply, cancellationToken);
        }
    }

    private sealed class FlakyStore(InMemoryOwnershipStore inner) : DelegatingStore(inner)
    {
        public volatile bool FailRenewals;
        public volatile bool FailCompletions;
        private int _failedCompletions;

        public int FailedCompletions => Volatile.Read(ref _failedCompletions);

        public override ValueTask<bool> RenewClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken) =>
            FailRenewals ? throw new TimeoutException("redis blip") : base.RenewClaimAsync(id, holder, timeToLive, cancellationToken);

        public override ValueTask<bool> CompleteClaimAsync(CorrelationId id, string holder, IReadOnlyList<RpcReply> replies, TimeSpan timeToLive, CancellationToken cancellationToken)
        {
            if (FailCompletions)
            {
                Interlocked.Increment(ref _failedCompletions);
                throw new TimeoutException("redis blip");
            }

            return base.CompleteClaimAsync(id, holder, replies, timeToLive, cancellationToken);
        }
    }
}
