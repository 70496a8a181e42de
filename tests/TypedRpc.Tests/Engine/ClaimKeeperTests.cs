using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Server;
using TypedRpc.Tests.InMemory;
using TypedRpc.Tests.Shared;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// The claim keeper on the in-memory store: claiming for a delivery, renewing and fencing, completing
/// (and retrying a failed completion), letting go, and callers' cancellations. Renewal rounds are
/// run by the test (<see cref="ClaimKeeper.RenewAllAsync"/>); the store's clock is moved by hand.
/// </summary>
public sealed class ClaimKeeperTests
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(30);

    private readonly ManualTimeProvider _clock = new();
    private readonly InMemoryOwnershipStore _store;

    public ClaimKeeperTests()
    {
        _store = new InMemoryOwnershipStore(_clock);
    }

    private ClaimKeeper Keeper(Action<TypedRpcOptions>? configure = null)
    {
        var options = new TypedRpcOptions
        {
            InstanceId = "server-a",
            ClaimTimeToLive = TimeToLive,
            StoreOperationTimeout = TimeSpan.FromSeconds(2),
        };
        configure?.Invoke(options);
        return new ClaimKeeper(_store, InMemoryTestData.Service.ServiceName, options, NullLogger.Instance);
    }

    private static RpcRequest Request(long? deadlineUnixMs = null, string? fingerprint = null) => new()
    {
        Id = CorrelationId.NewId(),
        Service = InMemoryTestData.Service.ServiceName,
        Method = "Ping",
        ReplyTo = new RpcReplyAddress("replies.caller"),
        Owner = "caller",
        DeadlineUnixMs = deadlineUnixMs ?? DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(),
        Fingerprint = fingerprint,
    };

    private async Task<RpcClaimState> ProbeAsync(CorrelationId id) =>
        (await _store.TryClaimAsync(id, "probe", TimeToLive, default)).State;

    private async Task<HeldClaim> RunAsync(ClaimKeeper keeper, RpcRequest request)
    {
        var result = await keeper.ClaimAsync(request, keeper.NextHolder(), waited: false, expired: false);
        Assert.Equal(ClaimVerdict.Run, result.Verdict);
        return result.Held!;
    }

    [Fact]
    public void NextHolder_NamesTheInstance_AndDiffersPerDelivery()
    {
        var keeper = Keeper();

        var first = keeper.NextHolder();
        var second = keeper.NextHolder();

        Assert.StartsWith("server-a/", first, StringComparison.Ordinal);
        Assert.NotEqual(first, second);
        Assert.NotEqual(first, Keeper().NextHolder()); // another process reusing the instance id
    }

    [Fact]
    public async Task Claim_ARequestNobodyHolds_RunsUnderAFenceableClaimTheKeeperHolds()
    {
        var keeper = Keeper();
        var request = Request();
        var holder = keeper.NextHolder();

        var result = await keeper.ClaimAsync(request, holder, waited: false, expired: false);

        Assert.Equal(ClaimVerdict.Run, result.Verdict);
        Assert.Equal(holder, result.Held!.Holder);
        Assert.True(result.Held.CanFence);
        Assert.Equal(request.DeadlineUnixMs, result.Held.RequestDeadlineUnixMs);
        Assert.Equal(HeldClaim.Running, result.Held.State);
        Assert.Equal(1, keeper.HeldCount);
        Assert.Equal(RpcClaimState.Running, await ProbeAsync(request.Id));
    }

    [Fact]
    public async Task Claim_HeldByAnotherHolder_Waits_OrIsLeftToItOnceExpired()
    {
        var keeper = Keeper();
        var request = Request();
        await _store.TryClaimAsync(request.Id, "server-b/1", TimeToLive, default);

        var live = await keeper.ClaimAsync(request, keeper.NextHolder(), waited: false, expired: false);
        var expired = await keeper.ClaimAsync(request, keeper.NextHolder(), waited: false, expired: true);

        Assert.Equal(ClaimVerdict.Wait, live.Verdict);
        Assert.Equal(ClaimVerdict.LeftToHolder, expired.Verdict);
        Assert.Equal(0, keeper.HeldCount);
    }

    [Fact]
    public async Task Claim_TheHolderDied_TheWaitingDeliveryTakesItOver()
    {
        var keeper = Keeper();
        var request = Request();
        await _store.TryClaimAsync(request.Id, "server-b/1", TimeToLive, default);
        var holder = keeper.NextHolder();
        Assert.Equal(ClaimVerdict.Wait, (await keeper.ClaimAsync(request, holder, waited: false, expired: false)).Verdict);

        _clock.Advance(TimeToLive + TimeSpan.FromSeconds(1)); // server-b stopped renewing
        var result = await keeper.ClaimAsync(request, holder, waited: true, expired: false);

        Assert.Equal(ClaimVerdict.Run, result.Verdict);
        Assert.Equal(holder, result.Held!.Holder);
    }

    [Fact]
    public async Task Claim_Completed_ReturnsTheStoredReplies()
    {
        var keeper = Keeper();
        var request = Request();
        await _store.TryClaimAsync(request.Id, "server-b/1", TimeToLive, default);
        await _store.CompleteClaimAsync(request.Id, "server-b/1", [StoreTestData.Reply(request.Id, 0, [7], isEnd: true)], TimeSpan.FromMinutes(1), default);

        var result = await keeper.ClaimAsync(request, keeper.NextHolder(), waited: false, expired: true);

        Assert.Equal(ClaimVerdict.Completed, result.Verdict);
        var reply = Assert.Single(result.Replies!);
        Assert.Equal(new byte[] { 7 }, reply.Payload.ToArray());
        Assert.Equal(0, keeper.HeldCount);
    }

    [Fact]
    public async Task Claim_Expired_LetsTheClaimItTookGoAgain()
    {
        var keeper = Keeper();
        var request = Request(deadlineUnixMs: DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds());

        var result = await keeper.ClaimAsync(request, keeper.NextHolder(), waited: false, expired: true);

        Assert.Equal(ClaimVerdict.Expired, result.Verdict);
        Assert.Equal(0, keeper.HeldCount);
        Assert.Equal(RpcClaimState.Claimed, await ProbeAsync(request.Id));
    }

    [Fact]
    public async Task Claim_CancelledByItsCaller_IsNotRun()
    {
        var keeper = Keeper();
        var request = Request();
        await _store.CancelAsync(InMemoryTestData.Service.ServiceName, request.Id, request.DeadlineUnixMs, TimeSpan.FromMinutes(1), default);

        var result = await keeper.ClaimAsync(request, keeper.NextHolder(), waited: false, expired: false);

        Assert.Equal(ClaimVerdict.Cancelled, result.Verdict);
        Assert.Equal(0, keeper.HeldCount);
    }

    [Fact]
    public async Task Claim_AKeyReusedWithOtherArguments_IsAConflict()
    {
        var keeper = Keeper();
        var first = Request(fingerprint: "fp-1");
        Assert.Equal(ClaimVerdict.Run, (await keeper.ClaimAsync(first, keeper.NextHolder(), false, false)).Verdict);
        var reuse = new RpcRequest
        {
            Id = first.Id, Service = first.Service, Method = first.Method, ReplyTo = first.ReplyTo, Owner = first.Owner,
            DeadlineUnixMs = first.DeadlineUnixMs, Fingerprint = "fp-2",
        };

        var result = await keeper.ClaimAsync(reuse, keeper.NextHolder(), waited: false, expired: false);

        Assert.Equal(ClaimVerdict.Conflict, result.Verdict);
    }

    [Theory]
    [InlineData(StoreFailureMode.FailCall, false, false, nameof(ClaimVerdict.Unavailable))]
    [InlineData(StoreFailureMode.FailCall, false, true, nameof(ClaimVerdict.Expired))]
    [InlineData(StoreFailureMode.SendWithoutOwnership, false, true, nameof(ClaimVerdict.Expired))]
    [InlineData(StoreFailureMode.FailCall, true, false, nameof(ClaimVerdict.Wait))]
    [InlineData(StoreFailureMode.SendWithoutOwnership, true, false, nameof(ClaimVerdict.Wait))]
    public async Task Claim_StoreDown_AnswersAsConfigured(StoreFailureMode mode, bool waited, bool expired, string expected)
    {
        var keeper = Keeper(o => o.WhenStoreUnavailable = mode);
        _store.Faults.Unavailable = true;

        var result = await keeper.ClaimAsync(Request(), keeper.NextHolder(), waited, expired);

        Assert.Equal(expected, result.Verdict.ToString());
        Assert.Null(result.Held);
        Assert.Equal(0, keeper.HeldCount);
    }

    [Fact]
    public async Task Claim_StoreDown_SendWithoutOwnership_RunsUnclaimed_AndRenewalTakesTheClaimLater()
    {
        var keeper = Keeper(o => o.WhenStoreUnavailable = StoreFailureMode.SendWithoutOwnership);
        var request = Request();
        _store.Faults.Unavailable = true;

        var held = await RunAsync(keeper, request);
        Assert.False(held.CanFence);
        Assert.Equal(1, keeper.HeldCount);

        await keeper.RenewAllAsync(); // still down: nothing to fence
        Assert.False(held.Fenced);

        _store.Faults.Unavailable = false;
        await keeper.RenewAllAsync();

        Assert.Equal(RpcClaimState.Running, await ProbeAsync(request.Id));
        Assert.Equal(1, keeper.HeldCount);
    }

    [Fact]
    public async Task Renewal_OfAnUnclaimedRun_ClaimedElsewhereMeanwhile_StopsHoldingWithoutFencing()
    {
        var keeper = Keeper(o => o.WhenStoreUnavailable = StoreFailureMode.SendWithoutOwnership);
        var request = Request();
        _store.Faults.Unavailable = true;
        var held = await RunAsync(keeper, request);
        _store.Faults.Unavailable = false;
        await _store.TryClaimAsync(request.Id, "server-b/1", TimeToLive, default);

        await keeper.RenewAllAsync();

        Assert.Equal(0, keeper.HeldCount);
        Assert.False(held.Fenced);
    }

    [Fact]
    public async Task Renewal_KeepsARunningClaimAlive()
    {
        var keeper = Keeper();
        var renewed = Request();
        var unrenewed = Request();
        await RunAsync(keeper, renewed);
        await _store.TryClaimAsync(unrenewed.Id, "server-b/1", TimeToLive, default);

        for (var i = 0; i < 3; i++)
        {
            _clock.Advance(TimeToLive * 0.6);
            await keeper.RenewAllAsync();
        }

        Assert.Equal(RpcClaimState.Running, await ProbeAsync(renewed.Id));
        Assert.Equal(RpcClaimState.Claimed, await ProbeAsync(unrenewed.Id)); // expired long ago
    }

    [Fact]
    public async Task Renewal_FindingAnotherHolder_FencesTheClaimAsLost()
    {
        var keeper = Keeper();
        var request = Request();
        var held = await RunAsync(keeper, request);
        var token = held.FenceToken;
        _clock.Advance(TimeToLive + TimeSpan.FromSeconds(1)); // renewals did not reach the store
        await _store.TryClaimAsync(request.Id, "server-b/1", TimeToLive, default);

        await keeper.RenewAllAsync();

        Assert.True(held.Lost);
        Assert.True(held.Fenced);
        await InMemoryTestData.Eventually(() => token.IsCancellationRequested, "the handler's token is cancelled");
    }

    [Fact]
    public async Task Renewal_NotConfirmedForTooLong_FencesTheHandler_ButKeepsTryingToRenew()
    {
        var keeper = Keeper();
        var request = Request();
        var held = await RunAsync(keeper, request);
        var token = held.FenceToken;
        _store.Faults.Unavailable = true;

        await keeper.RenewAllAsync();
        Assert.False(held.Fenced); // confirmed a moment ago

        // Last confirmed 1.5 renewal intervals ago: two renewals in a row failed.
        held.ConfirmedAt = Stopwatch.GetTimestamp() - (long)(keeper.RenewInterval.TotalSeconds * 1.5 * Stopwatch.Frequency);
        await keeper.RenewAllAsync();

        Assert.True(held.Fenced);
        Assert.False(held.Lost);
        await InMemoryTestData.Eventually(() => token.IsCancellationRequested, "the handler's token is cancelled");

        _store.Faults.Unavailable = false;
        await keeper.RenewAllAsync();
        Assert.Equal(RpcClaimState.Running, await ProbeAsync(request.Id)); // still this delivery's while its handler stops
    }

    [Fact]
    public async Task Complete_StoresTheReplies_AndStopsHolding()
    {
        var keeper = Keeper();
        var request = Request();
        var held = await RunAsync(keeper, request);

        await held.CompleteAsync([StoreTestData.Reply(request.Id, 0, [1], isEnd: true)]);

        Assert.Equal(0, keeper.HeldCount);
        var claim = await _store.TryClaimAsync(request.Id, "probe", TimeToLive, default);
        Assert.Equal(RpcClaimState.Completed, claim.State);
        Assert.Equal(new byte[] { 1 }, Assert.Single(claim.Replies).Payload.ToArray());
    }

    [Fact]
    public async Task Complete_StoreDown_KeepsTheClaimAlive_AndRenewalStoresTheResultLater()
    {
        var keeper = Keeper();
        var request = Request();
        var held = await RunAsync(keeper, request);
        _store.Faults.Unavailable = true;

        await held.CompleteAsync([StoreTestData.Reply(request.Id, 0, [1], isEnd: true)]); // does not throw
        held.EndRun();

        Assert.Equal(HeldClaim.CompletionPending, held.State);
        Assert.Equal(1, keeper.HeldCount);

        await keeper.RenewAllAsync(); // still down: retried later
        Assert.Equal(1, keeper.HeldCount);

        _store.Faults.Unavailable = false;
        await keeper.RenewAllAsync();

        Assert.Equal(0, keeper.HeldCount);
        Assert.Equal(RpcClaimState.Completed, await ProbeAsync(request.Id));
    }

    [Fact]
    public async Task Complete_StillFailingAfterTheResultsTimeToLive_IsAbandoned()
    {
        var keeper = Keeper(o => o.ResultTimeToLive = TimeSpan.FromMilliseconds(1));
        var held = await RunAsync(keeper, Request());
        _store.Faults.Unavailable = true;
        await held.CompleteAsync([StoreTestData.Reply(held.Id, 0, isEnd: true)]);
        held.EndRun();
        await Task.Delay(20);

        await keeper.RenewAllAsync();

        Assert.Equal(0, keeper.HeldCount);
    }

    [Fact]
    public async Task Complete_AfterAnotherDeliveryTookTheRequestOver_LeavesThatOnesClaim()
    {
        var keeper = Keeper();
        var request = Request();
        var held = await RunAsync(keeper, request);
        _clock.Advance(TimeToLive + TimeSpan.FromSeconds(1)); // this one stalled past its claim
        await _store.TryClaimAsync(request.Id, "server-b/1", TimeToLive, default);

        await held.CompleteAsync([StoreTestData.Reply(request.Id, 0, [1], isEnd: true)]);

        Assert.Equal(0, keeper.HeldCount);
        var claim = await _store.TryClaimAsync(request.Id, "probe", TimeToLive, default);
        Assert.Equal(RpcClaimState.Running, claim.State);
        Assert.Equal("server-b/1", claim.Holder);
    }

    [Fact]
    public async Task Stop_GivesAPendingCompletionOneMoreTry()
    {
        var keeper = Keeper();
        var request = Request();
        await keeper.StartAsync(CancellationToken.None);
        var held = await RunAsync(keeper, request);
        _store.Faults.Unavailable = true;
        await held.CompleteAsync([StoreTestData.Reply(request.Id, 0, isEnd: true)]);
        held.EndRun();
        _store.Faults.Unavailable = false;

        await keeper.StopAsync();

        Assert.Equal(RpcClaimState.Completed, await ProbeAsync(request.Id));
        Assert.Equal(0, keeper.HeldCount);
    }

    [Fact]
    public async Task LetGo_DropsTheClaim_SoAnotherDeliveryMayRunIt()
    {
        var keeper = Keeper();
        var request = Request();
        var held = await RunAsync(keeper, request);

        await held.LetGoAsync();
        held.EndRun();

        Assert.Equal(0, keeper.HeldCount);
        Assert.Equal(RpcClaimState.Claimed, await ProbeAsync(request.Id));
    }

    [Fact]
    public async Task EndRun_StopsHolding_AndTheTokenIsNoLongerMade()
    {
        var keeper = Keeper();
        var held = await RunAsync(keeper, Request());
        _ = held.FenceToken;

        held.EndRun();

        Assert.Equal(0, keeper.HeldCount);
        Assert.False(held.FenceToken.CanBeCanceled);
    }

    [Fact]
    public async Task CallerCancel_HeardWhileHeld_CancelsTheHandler_OnlyForTheSameRequest()
    {
        var keeper = Keeper();
        var request = Request();
        var held = await RunAsync(keeper, request);
        var token = held.FenceToken;

        await keeper.OnCancelAsync(request.Id, request.DeadlineUnixMs - 1); // an earlier attempt under the same id
        Assert.False(held.CancelledByCaller);

        await keeper.OnCancelAsync(request.Id, request.DeadlineUnixMs);

        Assert.True(held.CancelledByCaller);
        Assert.False(held.Fenced);
        await InMemoryTestData.Eventually(() => token.IsCancellationRequested, "the handler's token is cancelled");
    }

    [Fact]
    public async Task CallerCancel_HeardBeforeTheClaimIsHeld_CancelsItOnceHeld()
    {
        var keeper = Keeper();
        var request = Request();

        await keeper.OnCancelAsync(request.Id, request.DeadlineUnixMs); // overtook the claim (no marker seen by it)
        var held = await RunAsync(keeper, request);

        Assert.True(held.CancelledByCaller);
    }

    [Fact]
    public async Task CallerCancel_ThroughTheStoresChannel_ReachesTheRunningHandler()
    {
        var keeper = Keeper();
        var request = Request();
        await keeper.StartAsync(CancellationToken.None);
        var held = await RunAsync(keeper, request);

        await _store.CancelAsync(InMemoryTestData.Service.ServiceName, request.Id, request.DeadlineUnixMs, TimeSpan.FromMinutes(1), default);

        await InMemoryTestData.Eventually(() => held.CancelledByCaller, "the cancellation reaches the held claim");
        held.EndRun();
        await keeper.StopAsync();
    }
}
