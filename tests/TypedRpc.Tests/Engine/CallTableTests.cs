using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using TypedRpc.Client;
using TypedRpc.Serialization;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary><see cref="CallTable"/> on its own: entries, slots, deadlines and the drain at stop, no transport.</summary>
public sealed class CallTableTests : IDisposable
{
    private readonly TypedRpcOptions _options = new() { MaxPendingCalls = 1, ShutdownDrainTimeout = TimeSpan.FromSeconds(10) };
    private readonly CallTable _calls;

    public CallTableTests() => _calls = new CallTable(null, null, new JsonRpcSerializer(), _options, NullLogger.Instance);

    public void Dispose() => _calls.Dispose();

    [Fact]
    public void AnEndedCall_GivesBackItsEntryAndItsSlot()
    {
        Assert.True(_calls.TryTakeSlot());
        var call = Call(TimeSpan.FromSeconds(30));
        call.HoldsSlot = true;
        _calls.Add(call);
        Assert.Equal(1, _calls.Count);
        Assert.False(_calls.TryTakeSlot());

        Assert.True(call.TryEnd(CallState.Failed, new RpcStatus(RpcStatusCode.Unavailable, "test")));

        Assert.Equal(0, _calls.Count);
        Assert.False(_calls.TryGetValue(call.Id, out _));
        Assert.True(_calls.TryTakeSlot());
    }

    [Fact]
    public void ACallWithTheIdOfOneInFlight_IsRefused_AndTheFirstStays()
    {
        var first = Call(TimeSpan.FromSeconds(30));
        _calls.Add(first);
        var second = new UnaryCall(_calls, first.Id, null, first.DeadlineMs);

        var ex = Assert.Throws<RpcException>(() => _calls.Add(second));

        Assert.Equal(RpcStatusCode.AlreadyExists, ex.StatusCode);
        Assert.True(second.IsTerminal);
        Assert.True(_calls.TryGetValue(first.Id, out var kept));
        Assert.Same(first, kept);
    }

    [Fact]
    public void ACallAddedOnceClosed_FailsAtOnce()
    {
        _calls.Close();
        var call = Call(TimeSpan.FromSeconds(30));

        _calls.Add(call);

        Assert.Equal(CallState.Failed, call.State);
        Assert.Equal(RpcStatusCode.Unavailable, call.Outcome.Status.StatusCode);
        Assert.Equal(0, _calls.Count);
    }

    [Fact]
    public async Task ADeadline_EndsTheCallTimedOut_OnTheWheel()
    {
        var call = Call(TimeSpan.FromMilliseconds(50));
        _calls.Add(call);

        var outcome = await call.Completion.AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(CallState.TimedOut, outcome.State);
        Assert.Equal(RpcStatusCode.DeadlineExceeded, outcome.Status.StatusCode);
        Assert.Equal(0, _calls.Count);
    }

    [Fact]
    public async Task TheDrain_EndsWhenTheLastWaitingCallEnds_AndEndAllFailsTheRest()
    {
        var call = Call(TimeSpan.FromSeconds(30));
        _calls.Add(call);
        var draining = _calls.DrainAsync(CancellationToken.None);
        await Task.Delay(50);
        Assert.False(draining.IsCompleted);

        call.TryEnd(CallState.Completed, default);
        await draining.WaitAsync(TimeSpan.FromSeconds(5));

        var late = Call(TimeSpan.FromSeconds(30));
        _calls.Add(late);
        _calls.EndAll(new RpcStatus(RpcStatusCode.Unavailable, "stopped"));
        Assert.Equal(CallState.Failed, late.State);
        Assert.Equal("stopped", late.Outcome.Status.Detail);
    }

    [Fact]
    public async Task TheDrain_IsCutShortByItsToken()
    {
        _calls.Add(Call(TimeSpan.FromSeconds(30)));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await _calls.DrainAsync(cancel.Token).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(1, _calls.Count);
    }

    private UnaryCall Call(TimeSpan deadline) => new(_calls, CorrelationId.NewId(), null, TimerWheel.NowMs + (long)deadline.TotalMilliseconds);
}
