using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>The engine's behaviours, each call crossing a transport's broker and a real redis-server; a class per transport runs them.</summary>
public abstract class CallTests
{
    private readonly IServiceProvider _client;
    private readonly PairFixture _pair;

    protected CallTests(PairFixture pair)
    {
        _pair = pair;
        _client = pair.Client;
    }

    private IIntegrationService Service => _client.GetRequiredService<IIntegrationService>();

    [Fact]
    public async Task EveryMethodShape_Works()
    {
        var order = new Order("o-1", 12.5m, new[] { "a", "b" }, DateTimeOffset.UnixEpoch.AddDays(1));

        Assert.Equal(order.Lines, (await Service.EchoAsync(order)).Lines);
        Assert.Equal(order with { Lines = order.Lines }, await Service.EchoAsync(order) with { Lines = order.Lines });
        Assert.Equal(5, await Service.AddAsync(2, 3));
        await Service.PingAsync();
        Assert.Equal("slow:10", (await Service.SlowAsync(10)).Value);

        var items = new List<int>();
        await foreach (var item in Service.CountAsync(25))
        {
            items.Add(item);
        }

        Assert.Equal(Enumerable.Range(0, 25), items);
    }

    [Fact]
    public async Task ManyConcurrentCalls_AllGetTheirOwnReplies()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => Service.AddAsync(i, i).AsTask()));

        Assert.Equal(Enumerable.Range(0, 300).Select(i => 2 * i), results);
    }

    [Fact]
    public async Task ATimeout_GivesPending_AndTheLateResultIsFetchedById()
    {
        var result = await Service.SlowAsync(2_000);
        Assert.True(result.IsPending);

        var later = await _client.GetRequiredService<IRpcResults>().WaitAsync<string>(result.CorrelationId!, TimeSpan.FromSeconds(10));
        Assert.Equal("slow:2000", later.Value);
    }

    [Fact]
    public async Task ErrorStatuses_CrossTheWire()
    {
        var rpc = await Assert.ThrowsAsync<RpcException>(() => Service.FailAsync("rpc"));
        Assert.Equal(RpcStatusCode.PermissionDenied, rpc.StatusCode);
        Assert.Equal("no entry", rpc.Status.Detail);

        var generic = await Assert.ThrowsAsync<RpcException>(() => Service.FailAsync("other"));
        Assert.Equal(RpcStatusCode.Internal, generic.StatusCode);
        Assert.DoesNotContain("secret", generic.Message, StringComparison.Ordinal);

        var failed = await Service.SlowAsync(0, "bad state");
        Assert.Equal(RpcStatusCode.FailedPrecondition, failed.Status.StatusCode);
    }

    [Fact]
    public async Task AServerErrorMidStream_ComesAfterTheItemsSent()
    {
        var items = new List<int>();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var item in Service.CountAsync(10, failAt: 4))
            {
                items.Add(item);
            }
        });

        Assert.Equal(new[] { 0, 1, 2, 3 }, items);
        Assert.Equal(RpcStatusCode.Aborted, ex.StatusCode);
    }

    [Fact]
    public async Task ARequestOverTheSizeLimit_IsRefusedAtSendWithAClearError()
    {
        var huge = new Order("big", 1m, new[] { new string('x', 1_100_000) }, DateTimeOffset.UnixEpoch);

        var ex = await Assert.ThrowsAsync<RpcException>(() => Service.EchoAsync(huge));

        Assert.Equal(RpcStatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("MaxMessageBytes", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(5, await Service.AddAsync(2, 3));
    }
}
