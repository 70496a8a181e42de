using System;
using System.Collections.Concurrent;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using TypedRpc.Client;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Serialization;
using TypedRpc.Tests.InMemory;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// <see cref="OwnershipTracker"/> over an in-memory store and a <see cref="CallTable"/>, no
/// transport: the one owner-registration path, takeover, and replies no waiter took.
/// </summary>
public sealed class OwnershipTrackerTests : IDisposable
{
    private const string Self = "tracker-test";
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(1);

    private static readonly RpcMethodDescriptor Method = MakeMethod();

    private readonly ManualTimeProvider _clock = new();
    private readonly InMemoryOwnershipStore _store;
    private readonly JsonRpcSerializer _serializer = new();
    private readonly TypedRpcOptions _options = new() { InstanceId = Self, OwnerGracePeriod = Grace };
    private readonly CallTable _calls;
    private readonly Unmatched _unmatched = new();
    private readonly OwnershipTracker _tracker;

    public OwnershipTrackerTests()
    {
        _store = new InMemoryOwnershipStore(_clock);
        _calls = new CallTable(_store, _store, _serializer, _options, NullLogger.Instance);
        _tracker = new OwnershipTracker(_store, _unmatched, _options, _calls, NullLogger.Instance);
    }

    public void Dispose() => _calls.Dispose();

    [Fact]
    public async Task ACallsOwnerRecord_LivesForItsWaitItsExtensionAndTheGracePeriod()
    {
        var call = Waiting(TimeSpan.FromSeconds(10));

        Assert.True(await _tracker.RegisterAsync(call, Method, idempotent: false));

        Assert.Equal(CallPhase.Waiting, call.Phase);
        Assert.Equal(Self, (await _store.GetOwnerAsync(call.Id, default))?.InstanceId);

        // 10 s to the deadline + 2 s ExtendBy + 5 s grace.
        _clock.Advance(TimeSpan.FromSeconds(16.5));
        Assert.NotNull(await _store.GetOwnerAsync(call.Id, default));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await _store.GetOwnerAsync(call.Id, default));
    }

    [Fact]
    public async Task AResultWaitedForById_IsOwnedForTheWaitAndTheGracePeriod()
    {
        var id = CorrelationId.NewId();

        await _tracker.TakeOverAsync(id, TimeSpan.FromSeconds(10), default);

        _clock.Advance(TimeSpan.FromSeconds(14.5));
        Assert.Equal(Self, (await _store.GetOwnerAsync(id, default))?.InstanceId);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await _store.GetOwnerAsync(id, default));
    }

    [Fact]
    public async Task AnIdempotentCall_WhoseKeyNamesAnotherRequest_IsRefusedBeforeAnythingIsRecorded()
    {
        var call = Waiting(TimeSpan.FromSeconds(10));
        call.Fingerprint = "bbbb";
        await _store.RegisterOwnerAsync(call.Id, new RpcOwner("other", new RpcReplyAddress("replies.other")) { Fingerprint = "aaaa" }, Ttl, default);

        Assert.False(await _tracker.RegisterAsync(call, Method, idempotent: true));

        Assert.Equal(CallState.Failed, call.State);
        Assert.Equal(RpcStatusCode.FailedPrecondition, call.Outcome.Status.StatusCode);
        Assert.Equal("other", (await _store.GetOwnerAsync(call.Id, default))?.InstanceId);
    }

    [Fact]
    public async Task AnIdempotentRetry_TakesTheCallOver_AndIsAnsweredByTheStoredResult()
    {
        var call = Waiting(TimeSpan.FromSeconds(10));
        call.Fingerprint = "aaaa";
        await _store.RegisterOwnerAsync(call.Id, new RpcOwner("gone", new RpcReplyAddress("replies.gone")) { Fingerprint = "aaaa" }, Ttl, default);
        await _store.StoreReplyAsync(ValueReply(call.Id, "stored"), Ttl, null, default);

        Assert.False(await _tracker.RegisterAsync(call, Method, idempotent: true));

        Assert.Equal(CallState.Completed, call.State);
        Assert.Equal(Self, (await _store.GetOwnerAsync(call.Id, default))?.InstanceId);
        Assert.Equal("aaaa", (await _store.GetOwnerAsync(call.Id, default))?.Fingerprint);
    }

    [Fact]
    public async Task AnIdempotentRetry_AfterAnAttemptThatTimedOut_IsSentAgain()
    {
        var call = Waiting(TimeSpan.FromSeconds(10));
        call.Fingerprint = "aaaa";
        await _store.RegisterOwnerAsync(call.Id, new RpcOwner("gone", new RpcReplyAddress("replies.gone")) { Fingerprint = "aaaa" }, Ttl, default);
        await _store.StoreReplyAsync(RpcReply.Error(call.Id, new RpcStatus(RpcStatusCode.DeadlineExceeded, "too late")), Ttl, null, default);

        Assert.True(await _tracker.RegisterAsync(call, Method, idempotent: true));

        Assert.False(call.IsTerminal);
        Assert.Equal(CallPhase.Waiting, call.Phase);
    }

    [Fact]
    public async Task TheStoreDown_FailsACallRecordedAlongsideItsSend_ButNotOneAllowedToRunWithoutOwnership()
    {
        _store.Faults.Unavailable = true;
        var call = Waiting(TimeSpan.FromSeconds(10));

        await _tracker.RegisterAlongsideAsync(call, Method);

        Assert.Equal(CallState.Failed, call.State);
        Assert.Equal(RpcStatusCode.Unavailable, call.Outcome.Status.StatusCode);
        Assert.StartsWith("The ownership store could not record the call", call.Outcome.Status.Detail, StringComparison.Ordinal);

        _options.WhenStoreUnavailable = StoreFailureMode.SendWithoutOwnership;
        var lenient = Waiting(TimeSpan.FromSeconds(10));
        Assert.True(await _tracker.RegisterAsync(lenient, Method, idempotent: false));
        Assert.False(lenient.IsTerminal);
    }

    [Fact]
    public async Task TheStoreDown_IsThrownByARegistrationBeforeTheSend()
    {
        _store.Faults.Unavailable = true;
        var call = Waiting(TimeSpan.FromSeconds(10));

        await Assert.ThrowsAsync<InvalidOperationException>(() => _tracker.RegisterAsync(call, Method, idempotent: true));
    }

    [Fact]
    public async Task AReplyOwnedElsewhere_IsForwardedToItsOwner_AndNotHandedToTheHandler()
    {
        var id = CorrelationId.NewId();
        var woken = new TaskCompletionSource<CorrelationId>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await _store.SubscribeWakeUpsAsync("owner", wakeUp => { woken.TrySetResult(wakeUp); return default; }, default);
        await _store.RegisterOwnerAsync(id, new RpcOwner("owner", new RpcReplyAddress("replies.owner")), Ttl, default);

        await _tracker.HandleUnmatchedAsync(ValueReply(id, "forwarded"), UnmatchedReason.UnknownCall);

        Assert.Equal(id, await woken.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Single(await _store.GetRepliesAsync(id, default));
        Assert.True(_unmatched.Replies.IsEmpty);
    }

    [Fact]
    public async Task AReplyNobodyOwns_IsStored_WakesItsWatchers_AndIsHandedToTheHandler()
    {
        var id = CorrelationId.NewId();
        var watcher = _tracker.Watchers.Watch(id);

        await _tracker.HandleUnmatchedAsync(ValueReply(id, "late"), UnmatchedReason.CallEnded);

        Assert.True(watcher.Task.IsCompleted);
        Assert.Single(await _store.GetRepliesAsync(id, default));
        Assert.True(_unmatched.Replies.TryDequeue(out var handled));
        Assert.Equal((id, UnmatchedReason.CallEnded), handled);
    }

    private UnaryCall Waiting(TimeSpan deadline)
    {
        var call = new UnaryCall(_calls, CorrelationId.NewId(), Method, TimerWheel.NowMs + (long)deadline.TotalMilliseconds);
        _calls.Add(call);
        return call;
    }

    private RpcReply ValueReply(CorrelationId id, string value) =>
        new() { Id = id, IsEnd = true, HasValue = true, Payload = PayloadCodec.EncodeValue(value, _serializer) };

    private static RpcMethodDescriptor MakeMethod()
    {
        var method = new RpcMethodDescriptor(0, "Quote", "QuoteAsync", RpcMethodKind.Unary, typeof(string), 0, 2_000, false, false);
        _ = new RpcServiceDescriptor("tracker-test", typeof(OwnershipTrackerTests), null, 0, [method]);
        return method;
    }

    private sealed class Unmatched : IUnmatchedReplyHandler
    {
        public ConcurrentQueue<(CorrelationId Id, UnmatchedReason Reason)> Replies { get; } = new();

        public ValueTask OnUnmatchedReplyAsync(RpcReply reply, UnmatchedReason reason)
        {
            Replies.Enqueue((reply.Id, reason));
            return default;
        }
    }
}
