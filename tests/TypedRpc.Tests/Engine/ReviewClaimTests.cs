using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>Reviewer's demonstrations of defects in the claim leases (c7ea9c1).</summary>
public sealed class ReviewClaimTests
{
    private static void ShortClaims(TypedRpcOptions o)
    {
        o.StoreOperationTimeout = TimeSpan.FromMilliseconds(200);
        o.ClaimTimeToLive = TimeSpan.FromMilliseconds(600);
    }

    // (1) Renewals that fail transiently for ~1 claim TTL let a waiting duplicate take the request
    // over while the holder is alive; the holder is not cancelled when it learns the claim is lost.
    [Fact]
    public async Task TransientRenewalFailure_LetsADuplicateRunTheRequestWhileTheHolderIsAlive()
    {
        await using var cluster = new TestCluster();
        var store = new FlakyStore(cluster.Store) { FailRenewals = true };
        var node = await cluster.StartAsync(configure: ShortClaims, decorate: s =>
        {
            s.RemoveAll<IRpcOwnershipStore>();
            s.AddSingleton<IRpcOwnershipStore>(store);
        });
        cluster.Transport.DuplicateEveryRequest = true;
        _ = Task.Delay(900).ContinueWith(_ => store.FailRenewals = false); // a ~0.9 s blip (1.5 x TTL)
        var key = "blip-" + Guid.NewGuid().ToString("N");

        await node.Client.EffectAsync(key, 2_000, RpcCallOptions.Default).WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(2_500);

        Assert.Equal(2, cluster.State.SideEffects[key]); // ran twice
    }

    // (2) A stream longer than MaxCachedStreamReplies completes its claim with NO replies before the
    // final send; if that send fails, the redelivery finds "Completed" with nothing to re-send,
    // and is acknowledged: the caller never gets the end of the stream.
    [Theory]
    [InlineData(2, false)]     // overflowed: lost
    [InlineData(1_000, true)]  // control: replies stored, redelivery re-sends them
    public async Task FinalSendFailure_OfAnOverflowedStream_LosesTheEnd(int maxCached, bool expectCompleted)
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

        Assert.Equal(expectCompleted, completed);
        Assert.True(cluster.Transport.Redeliveries >= 1);
    }

    // (3) Waiting duplicates hold MaxConcurrentRequests slots until their deadline: two retries of
    // long-running requests (e.g. upstream retries with an Idempotency-Key) starve unrelated calls.
    [Fact]
    public async Task WaitingDuplicates_StarveUnrelatedRequests()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(configure: o => { ShortClaims(o); o.MaxConcurrentRequests = 2; });
        var calls = new List<Task>();
        for (var i = 0; i < 2; i++)
        {
            var key = "long-" + i + Guid.NewGuid().ToString("N");
            var id = CorrelationId.FromIdempotencyKey(TestServiceDescriptor.OptionsMethod.FullName, key);
            await cluster.Store.TryClaimAsync(id, "other-server/" + i, TimeSpan.FromMinutes(1), default); // a live holder elsewhere
            calls.Add(node.Client.OptionsAsync(0, RpcCallOptions.Default.WithIdempotencyKey(key).WithTimeout(TimeSpan.FromSeconds(5))));
        }

        await Task.Delay(300);
        var echo = node.Client.EchoAsync(7, 0, new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token);
        await Assert.ThrowsAnyAsync<Exception>(() => echo); // an unrelated 0 ms call cannot run for 2 s
    }

    // (4) A waiting duplicate counts as "running": a graceful stop waits the whole drain timeout for it.
    [Fact]
    public async Task AWaitingDuplicate_MakesShutdownWaitTheWholeDrainTimeout()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(configure: o => { ShortClaims(o); o.ShutdownDrainTimeout = TimeSpan.FromSeconds(3); });
        var key = "held-" + Guid.NewGuid().ToString("N");
        var id = CorrelationId.FromIdempotencyKey(TestServiceDescriptor.OptionsMethod.FullName, key);
        await cluster.Store.TryClaimAsync(id, "other-server/1", TimeSpan.FromMinutes(1), default);
        _ = node.Client.OptionsAsync(0, RpcCallOptions.Default.WithIdempotencyKey(key).WithTimeout(TimeSpan.FromSeconds(30)));
        await Task.Delay(300);

        var watch = Stopwatch.StartNew();
        await node.StopAsync();

        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(2.9), watch.Elapsed.ToString());
    }

    private sealed class FlakyTransport(IRpcTransport inner) : IRpcTransport
    {
        public volatile bool FailFirstEnd;

        public ValueTask SendRequestAsync(RpcServiceDescriptor service, RpcRequest request, CancellationToken cancellationToken) => inner.SendRequestAsync(service, request, cancellationToken);

        public ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken)
        {
            if (reply.IsEnd && FailFirstEnd)
            {
                FailFirstEnd = false;
                throw new InvalidOperationException("broker blip");
            }

            return inner.SendReplyAsync(address, reply, cancellationToken);
        }

        public ValueTask<IAsyncDisposable> SubscribeRequestsAsync(RpcServiceDescriptor service, RpcRequestHandler handler, CancellationToken cancellationToken) => inner.SubscribeRequestsAsync(service, handler, cancellationToken);

        public ValueTask<IRpcReplySubscription> SubscribeRepliesAsync(string instanceId, RpcReplyHandler handler, CancellationToken cancellationToken) => inner.SubscribeRepliesAsync(instanceId, handler, cancellationToken);
    }

    private sealed class FlakyStore(InMemoryOwnershipStore inner) : IRpcOwnershipStore
    {
        public volatile bool FailRenewals;

        public ValueTask<bool> RenewClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken) =>
            FailRenewals ? throw new TimeoutException("redis blip") : inner.RenewClaimAsync(id, holder, timeToLive, cancellationToken);

        public ValueTask RegisterOwnerAsync(CorrelationId id, RpcOwner owner, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.RegisterOwnerAsync(id, owner, timeToLive, cancellationToken);
        public ValueTask<RpcOwner?> GetOwnerAsync(CorrelationId id, CancellationToken cancellationToken) => inner.GetOwnerAsync(id, cancellationToken);
        public ValueTask ReleaseOwnerAsync(CorrelationId id, string instanceId, CancellationToken cancellationToken) => inner.ReleaseOwnerAsync(id, instanceId, cancellationToken);
        public ValueTask StoreReplyAsync(RpcReply reply, TimeSpan timeToLive, string? notifyInstance, CancellationToken cancellationToken) => inner.StoreReplyAsync(reply, timeToLive, notifyInstance, cancellationToken);
        public ValueTask<IReadOnlyList<RpcReply>> GetRepliesAsync(CorrelationId id, CancellationToken cancellationToken) => inner.GetRepliesAsync(id, cancellationToken);
        public ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.TryClaimAsync(id, holder, timeToLive, cancellationToken);
        public ValueTask<bool> CompleteClaimAsync(CorrelationId id, string holder, IReadOnlyList<RpcReply> replies, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.CompleteClaimAsync(id, holder, replies, timeToLive, cancellationToken);
        public ValueTask ReleaseClaimAsync(CorrelationId id, string holder, CancellationToken cancellationToken) => inner.ReleaseClaimAsync(id, holder, cancellationToken);
        public ValueTask NotifyAsync(string instanceId, CorrelationId id, CancellationToken cancellationToken) => inner.NotifyAsync(instanceId, id, cancellationToken);
        public ValueTask<IAsyncDisposable> SubscribeWakeUpsAsync(string instanceId, Func<CorrelationId, ValueTask> onWakeUp, CancellationToken cancellationToken) => inner.SubscribeWakeUpsAsync(instanceId, onWakeUp, cancellationToken);
        public ValueTask<bool> TryAcquireLeaseAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.TryAcquireLeaseAsync(group, partition, instanceId, timeToLive, cancellationToken);
        public ValueTask<bool> RenewLeaseAsync(string group, int partition, string instanceId, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.RenewLeaseAsync(group, partition, instanceId, timeToLive, cancellationToken);
        public ValueTask ReleaseLeaseAsync(string group, int partition, string instanceId, CancellationToken cancellationToken) => inner.ReleaseLeaseAsync(group, partition, instanceId, cancellationToken);
        public ValueTask<string?> GetLeaseHolderAsync(string group, int partition, CancellationToken cancellationToken) => inner.GetLeaseHolderAsync(group, partition, cancellationToken);
    }
}
