using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// How a call's end crosses a transport's broker and a real redis-server: a caller's cancel stops the server's
/// handler (through the store's cancel marker and channel), a stream cut short ends with an
/// error, a request that reaches its server late is answered, and an idempotency key names one
/// request.
/// </summary>
public abstract class CallEndTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly PairFixture _pair;

    protected CallEndTests(PairFixture pair) => _pair = pair;

    private IIntegrationService Service => _pair.Client.GetRequiredService<IIntegrationService>();

    private IntegrationState State => _pair.Deployment.State;

    [Fact]
    public async Task CancellingAStream_StopsTheServerWithinASecondOrSo()
    {
        using var cts = new CancellationTokenSource();
        var read = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in Service.TickAsync("k-cancel", -1, 20, false, RpcCallOptions.Default, cts.Token))
            {
                if (++read == 5)
                {
                    cts.Cancel();
                }
            }
        });

        await State.Gate("cancelled:k-cancel").Task.WaitAsync(Bound);
        await AssertStoppedProducingAsync("k-cancel");
    }

    [Fact]
    public async Task BreakingOutOfAStream_StopsTheServer()
    {
        var read = 0;
        await foreach (var _ in Service.TickAsync("k-break", -1, 20, false, RpcCallOptions.Default))
        {
            if (++read == 5)
            {
                break;
            }
        }

        await State.Gate("cancelled:k-break").Task.WaitAsync(Bound);
        await AssertStoppedProducingAsync("k-break");
    }

    [Fact]
    public async Task CancellingAUnaryCall_StopsTheServer()
    {
        using var cts = new CancellationTokenSource();
        var call = Service.HoldAsync("k-unary", cts.Token);
        // Only a precondition: how soon the request starts is not what is tested (the shared Kafka
        // mock took over 5 s once in a full run); how soon the cancel stops it is.
        await State.Gate("started:k-unary").Task.WaitAsync(TimeSpan.FromSeconds(30));
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await State.Gate("cancelled:k-unary").Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task AStreamCutAtItsDeadline_EndsWithDeadlineExceeded()
    {
        var options = RpcCallOptions.Default.WithDeadline(DateTimeOffset.UtcNow.AddMilliseconds(1_500));
        var read = 0;
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in Service.TickAsync("k-deadline", 1_000, 50, true, options))
            {
                read++;
            }
        });

        Assert.Equal(RpcStatusCode.DeadlineExceeded, error.StatusCode);
        Assert.InRange(read, 1, 999);
    }

    [Fact]
    public async Task AStreamThatKeepsDelivering_OutlivesTheMethodsTimeout()
    {
        // TickAsync's timeout is 2 s; 40 items at 100 ms take 4 s.
        var items = new List<int>();
        await foreach (var item in Service.TickAsync("k-steady", 40, 100, false, RpcCallOptions.Default))
        {
            items.Add(item);
        }

        Assert.Equal(40, items.Count);
    }

    [Fact]
    public async Task AStreamCutByItsServerStopping_EndsUnavailable()
    {
        // A deployment of its own: its server is stopped mid-stream.
        var ns = Redis.RedisServerFixture.NewNamespace();
        await using var cluster = _pair.NewDeployment(ns);
        var server = await cluster.StartAsync(client: false, server: true, configure: o => o.ShutdownDrainTimeout = TimeSpan.FromMilliseconds(300));
        await server.GetRequiredService<IRpcReadiness>().WaitUntilReadyAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var client = await cluster.StartAsync(client: true, server: false);
        var read = 0;
        Task? stopping = null;
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in client.GetRequiredService<IIntegrationService>().TickAsync("k-stop", -1, 20, true, RpcCallOptions.Default))
            {
                if (++read == 5)
                {
                    stopping = cluster.StopAsync(server);
                }
            }
        });

        Assert.Equal(RpcStatusCode.Unavailable, error.StatusCode);
        Assert.True(read >= 5, $"read {read} items");
        await stopping!.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ARequestThatReachesTheServerAfterItsDeadline_IsAnsweredDeadlineExceeded()
    {
        var client = _pair.Client.GetRequiredService<RpcClient>();
        var results = _pair.Client.GetRequiredService<IRpcResults>();
        var id = CorrelationId.NewId();
        var waiting = results.WaitAsync<string>(id.ToString(), TimeSpan.FromSeconds(10));

        // A request that spent its whole time budget in the broker, as behind a stopped server group.
        await _pair.Deployment.SendRawRequestAsync(id, "integration/Record", client.ReplyAddress,
            DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds(), System.Text.Encoding.UTF8.GetBytes("{\"name\":\"k-late\"}"));

        var result = await waiting;
        Assert.True(result.IsFailed, result.ToString());
        Assert.Equal(RpcStatusCode.DeadlineExceeded, result.Status.StatusCode);
        Assert.False(State.SideEffects.ContainsKey("k-late"));
    }

    [Fact]
    public async Task AnIdempotencyKeyReusedWithOtherArguments_FailsWithoutRunning_OnAnyInstance()
    {
        var other = await _pair.Deployment.StartAsync(client: true, server: false);
        Assert.Equal("recorded:k-a", await Service.RecordAsync("k-a", RpcCallOptions.Default.WithIdempotencyKey("kafka-key")));

        foreach (var instance in new[] { _pair.Client, other })
        {
            var error = await Assert.ThrowsAsync<RpcException>(() =>
                instance.GetRequiredService<IIntegrationService>().RecordAsync("k-other", RpcCallOptions.Default.WithIdempotencyKey("kafka-key")));
            Assert.True(RpcIdempotency.IsKeyReused(error.Status), error.Status.ToString());
        }

        // The same request again is answered with the first result, not run again.
        Assert.Equal("recorded:k-a", await other.GetRequiredService<IIntegrationService>().RecordAsync("k-a", RpcCallOptions.Default.WithIdempotencyKey("kafka-key")));
        Assert.Equal(1, State.SideEffects["k-a"]);
        Assert.False(State.SideEffects.ContainsKey("k-other"));
    }

    private async Task AssertStoppedProducingAsync(string name)
    {
        await Task.Delay(300);
        var stopped = State.SideEffects.GetValueOrDefault(name);
        await Task.Delay(500);
        Assert.Equal(stopped, State.SideEffects.GetValueOrDefault(name));
    }
}
