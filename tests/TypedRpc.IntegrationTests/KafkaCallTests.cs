using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>One client instance and one server instance over Kafka, shared by a test class (a group join costs seconds).</summary>
public sealed class KafkaPairFixture(KafkaFixture kafka, Redis.RedisServerFixture redis) : PairFixture(redis)
{
    public KafkaCluster Cluster => (KafkaCluster)Deployment;

    public override IDeployment NewDeployment(string ns) => new KafkaCluster(kafka, () => Redis.CreateStore(ns), ns);
}

/// <summary>The engine's shared behaviours over Kafka, and what only Kafka has (reply-partition leases).</summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class KafkaCallTests(KafkaPairFixture pair) : CallTests(pair), IClassFixture<KafkaPairFixture>
{
    private readonly IServiceProvider _client = pair.Client;
    private readonly KafkaPairFixture _pair = pair;

    private IIntegrationService Service => _client.GetRequiredService<IIntegrationService>();

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

/// <summary>How a call's end crosses Kafka.</summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class KafkaCallEndTests(KafkaPairFixture pair) : CallEndTests(pair), IClassFixture<KafkaPairFixture>;
