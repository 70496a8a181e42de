using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// How a call's end reaches the other side: a caller that cancels (or stops reading a stream)
/// stops the server's handler; a stream cut short never looks complete; a request that reached a
/// server too late is answered; an idempotency key names one request.
/// </summary>
public sealed class CallEndTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly TestCluster _cluster = new();
    private TestInstance _caller = null!;

    public async Task InitializeAsync()
    {
        _caller = await _cluster.StartAsync(server: false);
        await _cluster.StartAsync(client: false, configure: o => o.ShutdownDrainTimeout = TimeSpan.FromMilliseconds(200));
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task CancellingAStream_CancelsTheServersHandler()
    {
        using var cts = new CancellationTokenSource();
        var read = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in _caller.Client.TickAsync("cancel", -1, 20, false, RpcCallOptions.Default, cts.Token))
            {
                if (++read == 5)
                {
                    cts.Cancel();
                }
            }
        });

        await _cluster.State.Gate("cancelled:cancel").Task.WaitAsync(Bound);
        await AssertStoppedProducingAsync("cancel");
    }

    [Fact]
    public async Task BreakingOutOfAStream_CancelsTheServersHandler()
    {
        var read = 0;
        await foreach (var _ in _caller.Client.TickAsync("break", -1, 20, false, RpcCallOptions.Default))
        {
            if (++read == 5)
            {
                break;
            }
        }

        await _cluster.State.Gate("cancelled:break").Task.WaitAsync(Bound);
        await AssertStoppedProducingAsync("break");
    }

    [Fact]
    public async Task CancellingAUnaryCall_CancelsTheServersHandler()
    {
        using var cts = new CancellationTokenSource();
        var call = _caller.Client.HoldAsync("unary", cts.Token);
        await _cluster.State.Gate("started:unary").Task.WaitAsync(Bound);
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await _cluster.State.Gate("cancelled:unary").Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task ARequestCancelledBeforeAnyServerTookIt_IsNotRun()
    {
        await using var cluster = new TestCluster();
        var caller = await cluster.StartAsync(server: false);
        using var cts = new CancellationTokenSource();
        var call = caller.Client.HoldAsync("early", cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await Task.Delay(200);

        // The server starts after the cancel reached the store: its claim is refused.
        await cluster.StartAsync(client: false);
        var started = cluster.State.Gate("started:early").Task;
        Assert.NotSame(started, await Task.WhenAny(started, Task.Delay(1_000)));
    }

    [Fact]
    public async Task AStreamCutAtItsDeadline_EndsWithDeadlineExceeded_NotAsComplete()
    {
        // The handler ends quietly (yield break) when its token fires at the deadline: the caller
        // must still learn that the stream was cut short.
        var options = RpcCallOptions.Default.WithDeadline(DateTimeOffset.UtcNow.AddMilliseconds(1_200));
        var read = 0;
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in _caller.Client.TickAsync("deadline", 1_000, 50, true, options))
            {
                read++;
            }
        });

        Assert.Equal(RpcStatusCode.DeadlineExceeded, error.StatusCode);
        Assert.InRange(read, 1, 999);
    }

    [Fact]
    public async Task AStreamThatKeepsDelivering_IsNotCutAtTheMethodsTimeout()
    {
        // TickAsync's timeout is 500 ms; 30 items at 50 ms take 1.5 s and each gap is well inside it.
        var items = new List<int>();
        await foreach (var item in _caller.Client.TickAsync("steady", 30, 50, false, RpcCallOptions.Default))
        {
            items.Add(item);
        }

        Assert.Equal(30, items.Count);
    }

    [Fact]
    public async Task AStreamWhoseServerFallsSilent_EndsAtTheIdleBound()
    {
        // 800 ms between items is beyond the method's 500 ms timeout, which bounds each gap.
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in _caller.Client.TickAsync("silent", 3, 800, false, RpcCallOptions.Default))
            {
            }
        });

        Assert.Equal(RpcStatusCode.DeadlineExceeded, error.StatusCode);
    }

    [Fact]
    public async Task WithAnIdleBound_ASteadyStreamRunsUntilItsWholeDeadline()
    {
        // The idle bound (200 ms) never fires while items flow every 50 ms; MaxStreamDuration
        // (1.2 s) is what ends the stream, with DeadlineExceeded on both sides.
        await using var cluster = new TestCluster();
        var caller = await cluster.StartAsync(server: false, configure: o =>
        {
            o.StreamIdleTimeout = TimeSpan.FromMilliseconds(200);
            o.MaxStreamDuration = TimeSpan.FromMilliseconds(1_200);
        });
        await cluster.StartAsync(client: false);
        var read = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in caller.Client.TickAsync("whole", -1, 50, true, RpcCallOptions.Default))
            {
                read++;
            }
        });

        Assert.Equal(RpcStatusCode.DeadlineExceeded, error.StatusCode);
        Assert.InRange(watch.ElapsedMilliseconds, 1_000, 4_000);
        Assert.True(read >= 8, $"read {read} items");
        await cluster.State.Gate("cancelled:whole").Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task AStreamCutByItsServerStopping_EndsUnavailable()
    {
        await using var cluster = new TestCluster();
        var caller = await cluster.StartAsync(server: false);
        var server = await cluster.StartAsync(client: false, configure: o => o.ShutdownDrainTimeout = TimeSpan.FromMilliseconds(100));
        var read = 0;
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in caller.Client.TickAsync("stop", -1, 20, true, RpcCallOptions.Default))
            {
                if (++read == 3)
                {
                    var stopping = server.StopAsync();
                }
            }
        });

        Assert.Equal(RpcStatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public async Task ARequestThatReachesAServerAfterItsDeadline_IsAnsweredDeadlineExceeded_SoItsIdDoesNotStayPending()
    {
        await using var cluster = new TestCluster();
        var caller = await cluster.StartAsync(server: false);
        var watcher = await cluster.StartAsync(server: false);
        var result = await caller.Client.ResultAsync(10);
        Assert.True(result.IsPending, result.ToString());

        // The only server starts after the deadline: it must not run the request, and must not
        // leave its id pending either.
        await cluster.StartAsync(client: false);
        var later = await watcher.Results.WaitAsync<string>(result.CorrelationId!, TimeSpan.FromSeconds(5));
        Assert.True(later.IsFailed, later.ToString());
        Assert.Equal(RpcStatusCode.DeadlineExceeded, later.Status.StatusCode);
        Assert.Equal(RpcStatusCode.DeadlineExceeded, (await caller.Results.GetAsync<string>(result.CorrelationId!)).Status.StatusCode);
    }

    [Fact]
    public async Task AnIdempotencyKeyReusedWithOtherArguments_FailsWithoutRunning()
    {
        var first = await _caller.Client.EffectAsync("a", 0, RpcCallOptions.Default.WithIdempotencyKey("k1"));
        var again = await _caller.Client.EffectAsync("a", 0, RpcCallOptions.Default.WithIdempotencyKey("k1"));
        Assert.Equal(first, again);

        var error = await Assert.ThrowsAsync<RpcException>(() => _caller.Client.EffectAsync("other", 0, RpcCallOptions.Default.WithIdempotencyKey("k1")));
        Assert.Equal(RpcStatusCode.FailedPrecondition, error.StatusCode);
        Assert.True(RpcIdempotency.IsKeyReused(error.Status));
        Assert.False(_cluster.State.SideEffects.ContainsKey("other"));
        Assert.Equal(1, _cluster.State.SideEffects["a"]);
    }

    [Fact]
    public async Task AnIdempotencyKeyReusedWithOtherArguments_OnAnotherInstance_FailsWithoutRunning()
    {
        var second = await _cluster.StartAsync(server: false);
        await _caller.Client.EffectAsync("b", 0, RpcCallOptions.Default.WithIdempotencyKey("k2"));

        var error = await Assert.ThrowsAsync<RpcException>(() => second.Client.EffectAsync("b-other", 0, RpcCallOptions.Default.WithIdempotencyKey("k2")));
        Assert.True(RpcIdempotency.IsKeyReused(error.Status), error.Status.ToString());
        Assert.False(_cluster.State.SideEffects.ContainsKey("b-other"));
    }

    [Fact]
    public async Task AnIdempotencyKeyReusedWithOtherArguments_WhileTheFirstCallRuns_FailsWithoutJoining()
    {
        var first = _caller.Client.EffectAsync("c", 300, RpcCallOptions.Default.WithIdempotencyKey("k3"));
        var error = await Assert.ThrowsAsync<RpcException>(() => _caller.Client.EffectAsync("c-other", 0, RpcCallOptions.Default.WithIdempotencyKey("k3")));
        Assert.True(RpcIdempotency.IsKeyReused(error.Status), error.Status.ToString());
        Assert.Equal(1, await first);
        Assert.False(_cluster.State.SideEffects.ContainsKey("c-other"));
    }

    [Fact]
    public async Task AServerRefusesAReusedKey_EvenWhenTheCallersRecordIsGone()
    {
        // A caller without an ownership record of the key (say, it expired): the server's claim
        // still knows the first request's fingerprint.
        await _caller.Client.EffectAsync("d", 0, RpcCallOptions.Default.WithIdempotencyKey("k4"));
        var id = CorrelationId.FromIdempotencyKey("engine-test/Effect", "k4");
        await _cluster.Store.ReleaseOwnerAsync(id, "instance-1", CancellationToken.None);

        var error = await Assert.ThrowsAsync<RpcException>(() => _caller.Client.EffectAsync("d-other", 0, RpcCallOptions.Default.WithIdempotencyKey("k4")));
        Assert.True(RpcIdempotency.IsKeyReused(error.Status), error.Status.ToString());
        Assert.False(_cluster.State.SideEffects.ContainsKey("d-other"));
    }

    [Fact]
    public async Task TwoMethods_MayUseTheSameKeyString()
    {
        await _caller.Client.EffectAsync("e", 0, RpcCallOptions.Default.WithIdempotencyKey("shared"));
        var result = await _caller.Client.SlowResultAsync(0, RpcCallOptions.Default.WithIdempotencyKey("shared"));
        Assert.True(result.IsCompleted, result.ToString());
    }

    [Fact]
    public async Task AKeyedRetryAfterACancel_Runs_WhicheverServerTakesIt()
    {
        // Every server hears every cancel; the one not running the request must not hold it
        // against the retry (same id, new deadline).
        await _cluster.StartAsync(client: false);
        for (var i = 0; i < 4; i++)
        {
            var key = "retry-" + i;
            using var cts = new CancellationTokenSource();
            var first = _caller.Client.EffectAsync(key, 600, RpcCallOptions.Default.WithIdempotencyKey(key).WithCancellationToken(cts.Token));
            await Task.Delay(150);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
            await Task.Delay(100);

            Assert.Equal(1, await _caller.Client.EffectAsync(key, 600, RpcCallOptions.Default.WithIdempotencyKey(key)));
        }
    }

    [Fact]
    public async Task ACallThatOnlyStopsWaiting_MaxWait_LeavesItsWorkRunning_WhenItsTokenIsCancelled()
    {
        // The HTTP edge passes the HTTP request's token with Prefer: wait: a client that hangs up
        // stops waiting, the work keeps its deadline.
        using var cts = new CancellationTokenSource();
        var call = _caller.Client.EffectAsync("max-wait", 400, RpcCallOptions.Default.WithMaxWait(TimeSpan.FromSeconds(5)).WithCancellationToken(cts.Token));
        await Task.Delay(100);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!_cluster.State.SideEffects.ContainsKey("max-wait") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(1, _cluster.State.SideEffects.GetValueOrDefault("max-wait"));
    }

    [Fact]
    public async Task ADuplicateOfAKeyedStreamInFlight_IsRefused_AndDoesNotCancelTheFirst()
    {
        var options = RpcCallOptions.Default.WithIdempotencyKey("dup-stream");
        var items = new List<int>();
        var first = Task.Run(async () =>
        {
            await foreach (var item in _caller.Client.TickAsync("dup", 20, 30, false, options))
            {
                items.Add(item);
            }
        });
        await Task.Delay(150);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in _caller.Client.TickAsync("dup", 20, 30, false, options))
            {
            }
        });
        Assert.Equal(RpcStatusCode.AlreadyExists, error.StatusCode);

        await first.WaitAsync(Bound);
        Assert.Equal(20, items.Count);
        Assert.False(_cluster.State.Gates.ContainsKey("cancelled:dup"));
    }

    private async Task AssertStoppedProducingAsync(string name)
    {
        // Within a moment of its token firing the handler stops: the count no longer grows.
        await Task.Delay(200);
        var stopped = _cluster.State.SideEffects.GetValueOrDefault(name);
        await Task.Delay(300);
        Assert.Equal(stopped, _cluster.State.SideEffects.GetValueOrDefault(name));
        Assert.InRange(stopped, 5, 40);
    }
}
