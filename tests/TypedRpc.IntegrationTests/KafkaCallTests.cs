using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>One client instance and one server instance over Kafka, shared by a test class (a group join costs seconds).</summary>
public sealed class KafkaPairFixture : IAsyncLifetime
{
    private readonly KafkaFixture _kafka;
    private readonly Redis.RedisServerFixture _redis;

    public KafkaPairFixture(KafkaFixture kafka, Redis.RedisServerFixture redis)
    {
        _kafka = kafka;
        _redis = redis;
    }

    public KafkaCluster Cluster { get; private set; } = null!;

    public Redis.RedisServerFixture Redis => _redis;

    public string Namespace { get; private set; } = string.Empty;

    public IServiceProvider Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Every call crosses the Kafka protocol and a real redis-server (owners, claims, results, leases).
        var ns = TypedRpc.IntegrationTests.Redis.RedisServerFixture.NewNamespace();
        Namespace = ns;
        Cluster = new KafkaCluster(_kafka, () => _redis.CreateStore(ns));
        await Cluster.StartAsync(client: false, server: true);
        Client = await Cluster.StartAsync(client: true, server: false);
        // The first call waits for the server's group join (milliseconds on EmbeddedKafka; a broker
        // holds a new group for group.initial.rebalance.delay.ms, 3 s by default).
        await Client.GetRequiredService<IIntegrationService>().PingAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>The engine's behaviours, each call crossing the Kafka protocol.</summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class KafkaCallTests : IClassFixture<KafkaPairFixture>
{
    private readonly IServiceProvider _client;
    private readonly KafkaPairFixture _pair;

    public KafkaCallTests(KafkaPairFixture pair)
    {
        _pair = pair;
        _client = pair.Client;
    }

    private IIntegrationService Service => _client.GetRequiredService<IIntegrationService>();

    [Fact]
    public async Task EveryMethodShape_WorksOverKafka()
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

    [Fact]
    public async Task DuringAndAfterARun_RedisHoldsOnlyNamespacedKeysAndEachHasATimeToLive()
    {
        var ns = _pair.Namespace;
        var calls = Enumerable.Range(0, 50).Select(i => Service.AddAsync(i, 1).AsTask()).ToList();
        // Times out on the caller after 1 s, while the server (which got it in time) is still working:
        // its late reply is stored under the call's id.
        var slow = Assert.ThrowsAsync<RpcException>(() => Service.WorkAsync(2_000, RpcCallOptions.Default.WithTimeout(TimeSpan.FromSeconds(1))));

        var during = await _pair.Redis.Admin.ScanAsync(ns + ":*");
        await Task.WhenAll(calls);
        var timedOut = await slow;
        Assert.Equal(RpcStatusCode.DeadlineExceeded, timedOut.StatusCode);
        var late = await _client.GetRequiredService<IRpcResults>().WaitAsync<string>(timedOut.CorrelationId!, TimeSpan.FromSeconds(10));
        Assert.True(late.IsCompleted, late.ToString());
        var after = await _pair.Redis.Admin.ScanAsync(ns + ":*");

        Assert.NotEmpty(after);
        foreach (var key in during.Concat(after).Distinct())
        {
            Assert.Matches($"^{ns}:(own|res|claim):\\{{[0-9a-f]{{32}}\\}}$|^{ns}:lease:[^:]+:[0-9]+$", key);
            var ttl = await _pair.Redis.Admin.PttlAsync(key);
            Assert.True(ttl > 0 || ttl == -2, $"{key} has no time to live ({ttl})");
        }

        Assert.Contains(after, k => k.Contains(":lease:", StringComparison.Ordinal));
        Assert.Contains(after, k => k.Contains(":claim:", StringComparison.Ordinal));
        Assert.Contains(after, k => k.Contains(":own:", StringComparison.Ordinal));
        Assert.Contains(after, k => k.Contains(":res:", StringComparison.Ordinal));
    }
}
