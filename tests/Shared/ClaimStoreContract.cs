using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Tests.Shared.StoreTestData;

namespace TypedRpc.Tests.Shared;

/// <summary>
/// What every <see cref="IRpcClaimStore"/> must do with claims, cancels and fingerprints, written
/// once and run against each store (in memory, redis-server and Garnet).
/// </summary>
/// <typeparam name="TStore">The store under test.</typeparam>
/// <param name="kind">The kind of store the contract runs on.</param>
public abstract class ClaimStoreContract<TStore>(StoreKind<TStore> kind) : StoreContract<TStore>(kind) where TStore : class, IRpcOwnershipStore, IRpcClaimStore
{
    /// <summary>What a live holder's renewal grants: long enough that a stalled test machine cannot expire it between renewal and check.</summary>
    private static readonly TimeSpan RenewedTtl = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Claim_RunningThenReleasedByItsHolderOnly()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();

        var claim = await store.TryClaimAsync(id, "a", Ttl, default);
        Assert.Equal(RpcClaimState.Claimed, claim.State);
        Assert.Equal("a", claim.Holder);
        Assert.Empty(claim.Replies);

        var other = await store.TryClaimAsync(id, "b", Ttl, default);
        Assert.Equal(RpcClaimState.Running, other.State);
        Assert.Equal("a", other.Holder);
        Assert.Empty(other.Replies);

        // The holder's own claim again (a retry after a timeout that may have succeeded unseen) is idempotent.
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "a", Ttl, default)).State);

        await store.ReleaseClaimAsync(id, "b", default);
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "c", Ttl, default)).State);

        await store.ReleaseClaimAsync(id, "a", default);
        var next = await store.TryClaimAsync(id, "c", Ttl, default);
        Assert.Equal(RpcClaimState.Claimed, next.State);
        Assert.Equal("c", next.Holder);
    }

    [Fact]
    public async Task OfAThousandConcurrentClaims_ExactlyOneIsClaimed()
    {
        // Half of them through another client: on a server two connections, as two server instances would have.
        var first = NewStore();
        var second = AnotherClientOf(first);
        var id = CorrelationId.NewId();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var claims = new Task<RpcClaim>[1000];
        for (var i = 0; i < claims.Length; i++)
        {
            var store = i % 2 == 0 ? first : second;
            var instance = "server-" + i;
            claims[i] = Task.Run(async () =>
            {
                await start.Task;
                return await store.TryClaimAsync(id, instance, Ttl, default);
            });
        }

        start.SetResult();
        var results = await Task.WhenAll(claims);

        RpcClaim? winner = null;
        foreach (var result in results)
        {
            if (result.State == RpcClaimState.Claimed)
            {
                Assert.Null(winner);
                winner = result;
            }
        }

        Assert.NotNull(winner);
        foreach (var result in results)
        {
            if (!ReferenceEquals(result, winner))
            {
                Assert.Equal(RpcClaimState.Running, result.State);
                Assert.Equal(winner.Holder, result.Holder);
            }
        }
    }

    [Fact]
    public async Task Claims_ExpireAfterTheirTimeToLive()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();

        // Checked while two thirds of it have passed: a stalled test machine still has half a second.
        var ttl = TimeSpan.FromMilliseconds(1_500);
        var checkedAt = TimeSpan.FromSeconds(1);
        await store.TryClaimAsync(id, "server", ttl, default);
        Assert.Equal(1, await CountAsync(store));
        await ElapseAsync(checkedAt);
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "other", Ttl, default)).State);

        await ElapseAsync(ttl - checkedAt + ExpiryMargin);
        Assert.Equal(0, await CountAsync(store));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "other", Ttl, default)).State);
    }

    [Fact]
    public async Task IsRunning_WhileClaimed_NotBeforeNorAfterAReleaseOrACompletion()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();

        Assert.False(await store.IsRunningAsync(id, default));
        await store.TryClaimAsync(id, "a", Ttl, default);
        Assert.True(await store.IsRunningAsync(id, default));
        await store.ReleaseClaimAsync(id, "a", default);
        Assert.False(await store.IsRunningAsync(id, default));

        await store.TryClaimAsync(id, "b", Ttl, default);
        Assert.True(await store.IsRunningAsync(id, default));
        await store.CompleteClaimAsync(id, "b", [Reply(id, 0)], Ttl, default);
        Assert.False(await store.IsRunningAsync(id, default));
        Assert.False(await store.IsRunningAsync(CorrelationId.NewId(), default));
    }

    [Fact]
    public async Task CompletedReplies_AreTheCompletedClaimsOnly()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();

        Assert.Empty((await store.GetCompletedRepliesAsync(id, default))!);
        await store.TryClaimAsync(id, "a", Ttl, default);
        Assert.Empty((await store.GetCompletedRepliesAsync(id, default))!);
        await store.CompleteClaimAsync(id, "a", [Reply(id, 0), Reply(id, 1, isEnd: true)], Ttl, default);

        var replies = await store.GetCompletedRepliesAsync(id, default);
        Assert.Equal(new[] { 0, 1 }, replies!.Select(r => r.Sequence));
        Assert.True(replies![1].IsEnd);
        Assert.All(replies!, r => Assert.Equal(id, r.Id));
    }

    [Fact]
    public async Task IsRunning_EndsWithTheClaimsTimeToLive()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        var ttl = TimeSpan.FromMilliseconds(300);

        await store.TryClaimAsync(id, "dead server", ttl, default);
        Assert.True(await store.IsRunningAsync(id, default));
        await ElapseAsync(ttl + ExpiryMargin);
        Assert.False(await store.IsRunningAsync(id, default));
    }

    [Fact]
    public async Task ExpiredClaims_CanBeClaimedAgain_RunningOrCompleted()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();

        // Long enough that a stalled test machine cannot expire it before the check that it is held.
        var shortTtl = TimeSpan.FromSeconds(1);
        await store.TryClaimAsync(id, "dead", shortTtl, default);
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "b", Ttl, default)).State);

        await ElapseAsync(shortTtl + ExpiryMargin);
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "b", Ttl, default)).State);

        await store.CompleteClaimAsync(id, "b", [Reply(id, 0, isEnd: true)], shortTtl, default);
        Assert.Equal(RpcClaimState.Completed, (await store.TryClaimAsync(id, "c", Ttl, default)).State);

        await ElapseAsync(shortTtl + ExpiryMargin);
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "c", Ttl, default)).State);
    }

    [Fact]
    public async Task CompletedClaim_ReturnsItsReplies_AndSurvivesARelease()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        await store.TryClaimAsync(id, "a", Ttl, default);
        var payload = new byte[] { 5 };
        var sent = new List<RpcReply> { Reply(id, 0, payload), Reply(id, 1, detail: "done", isEnd: true) };

        await store.CompleteClaimAsync(id, "a", sent, Ttl, default);
        payload[0] = 0;
        await store.ReleaseClaimAsync(id, "a", default);

        var claim = await store.TryClaimAsync(id, "b", Ttl, default);
        Assert.Equal(RpcClaimState.Completed, claim.State);
        Assert.Equal("a", claim.Holder);
        Assert.Equal(2, claim.Replies.Count);
        Assert.Equal(0, claim.Replies[0].Sequence);
        Assert.Equal(5, claim.Replies[0].Payload.Span[0]);
        Assert.True(claim.Replies[1].IsEnd);
        AssertSameReply(sent[1], claim.Replies[1]);
    }

    [Fact]
    public async Task CompletingWithoutAClaim_StillServesLaterDeliveries()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();

        await store.CompleteClaimAsync(id, "a", [], Ttl, default);
        var empty = await store.TryClaimAsync(id, "b", Ttl, default);
        Assert.Equal(RpcClaimState.Completed, empty.State);
        Assert.Equal("a", empty.Holder);
        Assert.Empty(empty.Replies);

        var late = CorrelationId.NewId();
        await store.CompleteClaimAsync(late, "a", [Reply(late, 0, [1], isEnd: true)], Ttl, default);
        Assert.Single((await store.TryClaimAsync(late, "c", Ttl, default)).Replies);
    }

    [Fact]
    public async Task ClaimRenewal_ExtendsOnlyItsHoldersRunningClaim()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "a", TimeSpan.FromMilliseconds(600), default)).State);
        for (var i = 0; i < 3; i++)
        {
            // Renewed before it would expire, the claim outlives its first time to live (600 ms < 3 × 300 ms).
            // Each renewal gives 2 s, so a stalled test machine cannot expire it between renewal and check.
            await ElapseAsync(TimeSpan.FromMilliseconds(300));
            Assert.True(await store.RenewClaimAsync(id, "a", RenewedTtl, default));
            Assert.False(await store.RenewClaimAsync(id, "b", RenewedTtl, default));
            Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "b", Ttl, default)).State);
        }

        // Not renewed (its holder died): it expires and another holder takes it; the old one cannot renew it.
        await ElapseAsync(RenewedTtl + TimeSpan.FromMilliseconds(300));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "b", Ttl, default)).State);
        Assert.False(await store.RenewClaimAsync(id, "a", Ttl, default));

        // A completed claim is not renewed: it lives for its result's time to live.
        Assert.True(await store.CompleteClaimAsync(id, "b", [Reply(id, 0, isEnd: true)], Ttl, default));
        Assert.False(await store.RenewClaimAsync(id, "b", Ttl, default));
    }

    [Fact]
    public async Task ClaimRenewal_TakesAGoneClaimAgain_ButNotOneAnotherHolderTookOrCompleted()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "a", TimeSpan.FromMilliseconds(600), default)).State);

        // Its renewals failed until it expired, and nobody took it: the next renewal takes it again.
        await ElapseAsync(TimeSpan.FromMilliseconds(900));
        Assert.True(await store.RenewClaimAsync(id, "a", RenewedTtl, default));
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "b", Ttl, default)).State);

        // Once another holder took it after it expired, the old holder's renewal fails.
        // A short renewal lets it expire again; a slow machine only makes it more expired.
        Assert.True(await store.RenewClaimAsync(id, "a", TimeSpan.FromMilliseconds(100), default));
        await ElapseAsync(TimeSpan.FromMilliseconds(600));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "b", Ttl, default)).State);
        Assert.False(await store.RenewClaimAsync(id, "a", Ttl, default));
    }

    [Fact]
    public async Task CompletingAClaimAnotherHolderTookOver_LeavesItToThatHolder()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        await store.TryClaimAsync(id, "stale", TimeSpan.FromMilliseconds(200), default);
        await ElapseAsync(TimeSpan.FromMilliseconds(400));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "new", Ttl, default)).State);

        // The stale holder (paused past its claim's expiry) finishes: it must not overwrite the new holder's claim.
        Assert.False(await store.CompleteClaimAsync(id, "stale", [Reply(id, 0, [1], isEnd: true)], Ttl, default));
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "third", Ttl, default)).State);

        Assert.True(await store.CompleteClaimAsync(id, "new", [Reply(id, 0, [2], isEnd: true)], Ttl, default));
        var done = await store.TryClaimAsync(id, "third", Ttl, default);
        Assert.Equal(RpcClaimState.Completed, done.State);
        Assert.Equal("new", done.Holder);
        Assert.Equal(2, done.Replies[0].Payload.Span[0]);

        // Once completed, the first result stands.
        Assert.False(await store.CompleteClaimAsync(id, "stale", [Reply(id, 0, [3], isEnd: true)], Ttl, default));
        Assert.Equal(2, (await store.TryClaimAsync(id, "third", Ttl, default)).Replies[0].Payload.Span[0]);
    }

    /// <summary>A cancel marker refuses a claim of the request it names (same deadline), not a retry with another deadline.</summary>
    [Fact]
    public async Task CancelMarker_RefusesTheCancelledRequestOnly()
    {
        var store = NewStore();
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
    [Fact]
    public async Task Fingerprint_IsKeptWithTheClaim()
    {
        var store = NewStore();
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

    /// <summary>
    /// A claim taken writes the caller's owner record given with it — with its own time to live,
    /// never over a record already there — and a claim not taken (running elsewhere, completed,
    /// cancelled) writes none.
    /// </summary>
    [Fact]
    public async Task AClaimTaken_WritesTheCallersOwnerRecord_OnlyWhereNoneExists()
    {
        var store = NewStore();
        Assert.True(store.RecordsOwners);
        var ownerTtl = TimeSpan.FromMilliseconds(1_500);
        var conditions = new RpcClaimConditions(0, null) { Owner = Owner("caller"), OwnerTimeToLive = ownerTtl };

        var id = CorrelationId.NewId();
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "h1", Ttl, conditions, default)).State);
        Assert.Equal(Owner("caller"), await store.GetOwnerAsync(id, default));

        // A record written earlier (a caller that recorded itself, a takeover) stays as it is.
        var recorded = CorrelationId.NewId();
        await store.RegisterOwnerAsync(recorded, Owner("first"), Ttl, default);
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(recorded, "h1", Ttl, conditions, default)).State);
        Assert.Equal(Owner("first"), await store.GetOwnerAsync(recorded, default));

        // Running elsewhere, completed or cancelled: the claim is not taken, nothing is written.
        var running = CorrelationId.NewId();
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(running, "h1", Ttl, default)).State);
        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(running, "h2", Ttl, conditions, default)).State);
        Assert.Null(await store.GetOwnerAsync(running, default));
        Assert.True(await store.CompleteClaimAsync(running, "h1", [Reply(running, 0, [1], isEnd: true)], Ttl, default));
        Assert.Equal(RpcClaimState.Completed, (await store.TryClaimAsync(running, "h2", Ttl, conditions, default)).State);
        Assert.Null(await store.GetOwnerAsync(running, default));
        var cancelled = CorrelationId.NewId();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds();
        await store.CancelAsync("svc", cancelled, deadline, Ttl, default);
        Assert.Equal(RpcClaimState.Cancelled, (await store.TryClaimAsync(cancelled, "h1", Ttl, conditions with { RequestDeadlineUnixMs = deadline }, default)).State);
        Assert.Null(await store.GetOwnerAsync(cancelled, default));

        // The record lives for its own time to live, not the claim's.
        await ElapseAsync(ownerTtl + ExpiryMargin);
        Assert.Null(await store.GetOwnerAsync(id, default));
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "h1", Ttl, default)).State);
    }

    /// <summary>An owner record given with a claim must name an instance and have a positive time to live.</summary>
    [Fact]
    public async Task AnOwnerRecordGivenWithAClaim_IsChecked()
    {
        var store = NewStore(unconnected: true);
        var id = CorrelationId.NewId();
        Assert.Throws<ArgumentOutOfRangeException>("conditions", () => { _ = store.TryClaimAsync(id, "h", Ttl, new RpcClaimConditions(0, null) { Owner = Owner("a") }, default); });
        Assert.Throws<ArgumentException>("conditions", () => { _ = store.TryClaimAsync(id, "h", Ttl, new RpcClaimConditions(0, null) { Owner = new RpcOwner("", default), OwnerTimeToLive = Ttl }, default); });
        Assert.Equal(0, await CountAsync(store));
    }

    /// <summary>A cancel reaches every subscriber of its service, and only those.</summary>
    [Fact]
    public async Task Cancel_ReachesTheServicesSubscribers()
    {
        var store = NewStore();
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

    /// <summary>Bad cancel arguments are refused, with the parameter named.</summary>
    [Fact]
    public async Task CancelArguments_AreChecked()
    {
        var store = NewStore();
        var id = CorrelationId.NewId();
        await Assert.ThrowsAsync<ArgumentException>("service", async () => await store.CancelAsync("", id, 1, Ttl, default));
        await Assert.ThrowsAsync<ArgumentException>("id", async () => await store.CancelAsync("svc", default, 1, Ttl, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>("requestDeadlineUnixMs", async () => await store.CancelAsync("svc", id, 0, Ttl, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>("timeToLive", async () => await store.CancelAsync("svc", id, 1, TimeSpan.Zero, default));
        await Assert.ThrowsAsync<ArgumentNullException>("onCancel", async () => await store.SubscribeCancellationsAsync("svc", null!, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>("conditions", async () => await store.TryClaimAsync(id, "h", Ttl, new RpcClaimConditions(-1, null), default));
    }

    [Fact]
    public async Task CancelledToken_SendsNothing()
    {
        var store = NewStore();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.TryClaimAsync(CorrelationId.NewId(), "a", Ttl, Cancelled).AsTask());
        Assert.Equal(0, await CountAsync(store));
    }

    /// <summary>Bad arguments throw at once (not in the returned task), and nothing is written.</summary>
    [Fact]
    public async Task InvalidArguments_AreRefusedBeforeAnythingIsSent()
    {
        var store = NewStore(unconnected: true);
        var id = CorrelationId.NewId();

        Assert.Throws<ArgumentException>(() => { _ = store.TryClaimAsync(id, "", Ttl, default); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = store.TryClaimAsync(id, "a", TimeSpan.FromSeconds(-1), default); });
        Assert.Throws<ArgumentNullException>(() => { _ = store.CompleteClaimAsync(id, "a", null!, Ttl, default); });
        Assert.Throws<ArgumentException>(() => { _ = store.CompleteClaimAsync(id, "a", [null!], Ttl, default); });
        Assert.Throws<ArgumentException>(() => { _ = store.CompleteClaimAsync(id, "a", [Reply(CorrelationId.NewId(), 0)], Ttl, default); });
        Assert.Throws<ArgumentException>(() => { _ = store.IsRunningAsync(default, default); });
        Assert.Throws<ArgumentException>(() => { _ = store.GetCompletedRepliesAsync(default, default); });
        Assert.Equal(0, await CountAsync(store));
    }
}
