using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Shared;

/// <summary>
/// What every <see cref="IRpcOwnershipStore"/> must do about cancels, fingerprints and provisional
/// results, written once and run against each store (in memory, and a real redis-server).
/// </summary>
public static class OwnershipStoreChecks
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(1);

    /// <summary>A cancel marker refuses a claim of the request it names (same deadline), not a retry with another deadline.</summary>
    public static async Task CancelMarker_RefusesTheCancelledRequestOnly(IRpcOwnershipStore store)
    {
        var id = CorrelationId.NewId();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds();
        await store.CancelAsync("svc", id, deadline, Ttl, default);

        Assert.Equal(RpcClaimState.Cancelled, (await store.TryClaimAsync(id, "h1", Ttl, new RpcClaimConditions(deadline, null), default)).State);
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "h1", Ttl, new RpcClaimConditions(deadline + 1, null), default)).State);

        // Without conditions the marker is not consulted.
        var other = CorrelationId.NewId();
        await store.CancelAsync("svc", other, deadline, Ttl, default);
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(other, "h1", Ttl, default)).State);
    }

    /// <summary>A claim keeps its fingerprint: another fingerprint is a conflict while it runs, after it completed, and after renewals.</summary>
    public static async Task Fingerprint_IsKeptWithTheClaim(IRpcOwnershipStore store)
    {
        var id = CorrelationId.NewId();
        var first = new RpcClaimConditions(0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        var second = new RpcClaimConditions(0, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "h1", Ttl, first, default)).State);
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "h2", Ttl, first, default)).State);
        var conflict = await store.TryClaimAsync(id, "h2", Ttl, second, default);
        Assert.Equal(RpcClaimState.Conflict, conflict.State);
        Assert.Equal("h1", conflict.Holder);

        Assert.True(await store.RenewClaimAsync(id, "h1", Ttl, default));
        Assert.True(await store.CompleteClaimAsync(id, "h1", [RpcReply.Error(id, new RpcStatus(RpcStatusCode.OK, null))], Ttl, default));
        Assert.Equal(RpcClaimState.Conflict, (await store.TryClaimAsync(id, "h3", Ttl, second, default)).State);
        Assert.Equal(RpcClaimState.Completed, (await store.TryClaimAsync(id, "h3", Ttl, first, default)).State);

        // A request without a fingerprint (no idempotency key) is never a conflict.
        Assert.Equal(RpcClaimState.Completed, (await store.TryClaimAsync(id, "h3", Ttl, default)).State);
    }

    /// <summary>A stored DeadlineExceeded end gives way to a later message at its sequence; any other stored message does not.</summary>
    public static async Task ProvisionalDeadlineExceeded_IsReplacedByTheRealResult(IRpcOwnershipStore store)
    {
        var id = CorrelationId.NewId();
        await store.StoreReplyAsync(RpcReply.Error(id, new RpcStatus(RpcStatusCode.DeadlineExceeded, "late")), Ttl, null, default);
        await store.StoreReplyAsync(RpcReply.Error(id, new RpcStatus(RpcStatusCode.DeadlineExceeded, "again")), Ttl, null, default);
        Assert.Equal("late", Assert.Single(await store.GetRepliesAsync(id, default)).Detail);

        var real = new RpcReply { Id = id, Status = RpcStatusCode.OK, IsEnd = true, HasValue = true, Payload = "\"done\""u8.ToArray() };
        await store.StoreReplyAsync(real, Ttl, null, default);
        var stored = Assert.Single(await store.GetRepliesAsync(id, default));
        Assert.Equal(RpcStatusCode.OK, stored.Status);
        Assert.Equal("\"done\"", System.Text.Encoding.UTF8.GetString(stored.Payload.Span));

        // The real result stays: neither another result nor a DeadlineExceeded replaces it.
        await store.StoreReplyAsync(RpcReply.Error(id, new RpcStatus(RpcStatusCode.DeadlineExceeded, "late")), Ttl, null, default);
        await store.StoreReplyAsync(RpcReply.Error(id, new RpcStatus(RpcStatusCode.Internal, "other")), Ttl, null, default);
        Assert.Equal(RpcStatusCode.OK, Assert.Single(await store.GetRepliesAsync(id, default)).Status);
    }

    /// <summary>A cancel reaches every subscriber of its service, and only those.</summary>
    public static async Task Cancel_ReachesTheServicesSubscribers(IRpcOwnershipStore store)
    {
        var service = "svc-" + Guid.NewGuid().ToString("N")[..8];
        var heard = new ConcurrentQueue<(int Subscriber, CorrelationId Id, long Deadline)>();
        var twice = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ValueTask On(int subscriber, CorrelationId id, long deadline)
        {
            heard.Enqueue((subscriber, id, deadline));
            if (heard.Count >= 2)
            {
                twice.TrySetResult();
            }

            return ValueTask.CompletedTask;
        }

        await using var one = await store.SubscribeCancellationsAsync(service, (id, d) => On(1, id, d), default);
        await using var two = await store.SubscribeCancellationsAsync(service, (id, d) => On(2, id, d), default);
        await using var elsewhere = await store.SubscribeCancellationsAsync(service + "-other", (id, d) => On(3, id, d), default);
        var cancelled = CorrelationId.NewId();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds();
        Assert.True(await store.CancelAsync(service, cancelled, deadline, Ttl, default));

        await twice.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await Task.Delay(100);
        Assert.Equal(2, heard.Count);
        Assert.All(heard, h => Assert.Equal((cancelled, deadline), (h.Id, h.Deadline)));
        Assert.DoesNotContain(heard, h => h.Subscriber == 3);
    }

    /// <summary>Bad arguments are refused at once, with the parameter named.</summary>
    public static async Task CancelArguments_AreChecked(IRpcOwnershipStore store)
    {
        var id = CorrelationId.NewId();
        await Assert.ThrowsAsync<ArgumentException>("service", async () => await store.CancelAsync("", id, 1, Ttl, default));
        await Assert.ThrowsAsync<ArgumentException>("id", async () => await store.CancelAsync("svc", default, 1, Ttl, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>("requestDeadlineUnixMs", async () => await store.CancelAsync("svc", id, 0, Ttl, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>("timeToLive", async () => await store.CancelAsync("svc", id, 1, TimeSpan.Zero, default));
        await Assert.ThrowsAsync<ArgumentNullException>("onCancel", async () => await store.SubscribeCancellationsAsync("svc", null!, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>("conditions", async () => await store.TryClaimAsync(id, "h", Ttl, new RpcClaimConditions(-1, null), default));
    }
}
