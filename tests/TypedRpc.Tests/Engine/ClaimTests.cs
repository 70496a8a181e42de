using System;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// Server claims are short-lived and renewed while the request runs: a live holder keeps its
/// claim however long it runs, a dead holder's claim expires and a redelivery takes the request
/// over, and a delivery that finds the claim held waits instead of being dropped.
/// </summary>
public sealed class ClaimTests
{
    private static void ShortClaims(TypedRpcOptions o)
    {
        o.StoreOperationTimeout = TimeSpan.FromMilliseconds(200);
        o.ClaimTimeToLive = TimeSpan.FromMilliseconds(600);
    }

    [Fact]
    public async Task ARequestWhoseHolderDied_IsTakenOverWhenTheClaimExpires_AndRunsOnce()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(configure: ShortClaims);
        using var metrics = new Support.CounterRecorder("typedrpc.server.claims");
        var key = "order-" + Guid.NewGuid().ToString("N");
        var id = CorrelationId.FromIdempotencyKey(TestServiceDescriptor.EffectMethod.FullName, key);

        // A server took the request and died: its claim is not renewed and runs out in 600 ms.
        Assert.Equal(Ownership.RpcClaimState.Claimed, (await cluster.Store.TryClaimAsync(id, "dead-server/1", TimeSpan.FromMilliseconds(600), default)).State);

        var result = await node.Client.EffectAsync(key, 0, RpcCallOptions.Default.WithIdempotencyKey(key)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, result);
        Assert.Equal(1, cluster.State.SideEffects[key]);
        Assert.True(metrics.Total("event", "taken_over") >= 1);
    }

    [Fact]
    public async Task ARequestWhoseHolderIsAlive_WaitsForItsResult_AndIsNotRunAgain()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(configure: ShortClaims);
        var key = "order-" + Guid.NewGuid().ToString("N");
        var id = CorrelationId.FromIdempotencyKey(TestServiceDescriptor.EffectMethod.FullName, key);
        Assert.Equal(Ownership.RpcClaimState.Claimed, (await cluster.Store.TryClaimAsync(id, "live-server/1", TimeSpan.FromMilliseconds(600), default)).State);

        // The live holder renews its claim for 2 s (well past the claim's time to live), then
        // completes it with its result.
        var holder = Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                await Task.Delay(200);
                Assert.True(await cluster.Store.RenewClaimAsync(id, "live-server/1", TimeSpan.FromMilliseconds(600), default));
            }

            var payload = Serialization.PayloadCodec.EncodeValue(42, new Serialization.JsonRpcSerializer());
            Assert.True(await cluster.Store.CompleteClaimAsync(id, "live-server/1",
                [new RpcReply { Id = id, Status = RpcStatusCode.OK, IsEnd = true, HasValue = true, Payload = payload }], TimeSpan.FromMinutes(1), default));
        });

        var result = await node.Client.EffectAsync(key, 0, RpcCallOptions.Default.WithIdempotencyKey(key)).WaitAsync(TimeSpan.FromSeconds(10));
        await holder;

        Assert.Equal(42, result);
        Assert.False(cluster.State.SideEffects.ContainsKey(key));
    }

    [Fact]
    public async Task AHandlerRunningLongerThanTheClaimTimeToLive_KeepsItsClaim_SoADuplicateDoesNotRunIt()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(configure: ShortClaims);
        cluster.Transport.Faults.DuplicateEveryRequest = true;
        var key = "slow-" + Guid.NewGuid().ToString("N");

        // 2 s of work against a 600 ms claim: only renewal keeps the duplicate from running it.
        var result = await node.Client.EffectAsync(key, 2_000, RpcCallOptions.Default).WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(300);

        Assert.Equal(1, result);
        Assert.Equal(1, cluster.State.SideEffects[key]);
    }

    [Fact]
    public async Task ADuplicateWaitingForAHolderThatNeverFinishes_GivesUpAtTheDeadline_AndFreesItsSlot()
    {
        await using var cluster = new TestCluster();
        var node = await cluster.StartAsync(configure: o =>
        {
            ShortClaims(o);
            o.MaxConcurrentRequests = 1;
        });
        var key = "stuck-" + Guid.NewGuid().ToString("N");
        var id = CorrelationId.FromIdempotencyKey(TestServiceDescriptor.OptionsMethod.FullName, key);
        await cluster.Store.TryClaimAsync(id, "stuck-server/1", TimeSpan.FromMinutes(1), default);

        var call = node.Client.OptionsAsync(0, RpcCallOptions.Default.WithIdempotencyKey(key).WithTimeout(TimeSpan.FromMilliseconds(800)));
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(RpcStatusCode.DeadlineExceeded, ex.StatusCode);

        // The waiting delivery held the only slot; past its deadline it lets go and others run.
        Assert.Equal(7, await node.Client.EchoAsync(7, 0).WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
