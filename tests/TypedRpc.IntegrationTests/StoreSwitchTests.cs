using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.IntegrationTests.Redis;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// The store switches switch: with TypedRpc:EnableOwnership and EnableClaims off, a deployment that
/// has a Redis store registered writes nothing to it — no owner records, no claims, no leases —
/// and still answers its calls over Kafka.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class StoreSwitchTests(KafkaFixture kafka, RedisServerFixture redis)
{
    [Fact]
    public async Task WithBothSwitchesOff_NothingIsWrittenToRedis()
    {
        var ns = RedisServerFixture.NewNamespace();
        await using var cluster = new KafkaCluster(kafka, () => redis.CreateStore(ns), ns);
        void Off(TypedRpcOptions o)
        {
            o.EnableOwnership = false;
            o.EnableClaims = false;
        }

        var server = await cluster.StartAsync(client: false, server: true, configure: Off);
        await server.GetRequiredService<IRpcReadiness>().WaitUntilReadyAsync().WaitAsync(System.TimeSpan.FromSeconds(60));
        var client = await cluster.StartAsync(client: true, server: false, configure: Off);
        var service = client.GetRequiredService<IIntegrationService>();

        Assert.Equal(5, await service.AddAsync(2, 3));
        Assert.Equal("recorded:switch", await service.RecordAsync("switch", RpcCallOptions.Default.WithIdempotencyKey("switch-key")));

        Assert.Empty(await redis.Admin.ScanAsync(ns + ":*"));
    }
}
