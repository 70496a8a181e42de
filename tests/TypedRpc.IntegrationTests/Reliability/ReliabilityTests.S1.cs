using System;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Kafka;
using TypedRpc.Redis;
using TypedRpc.ReliabilityTests.ServerHost;
using Xunit;

namespace TypedRpc.IntegrationTests.Reliability;

public sealed partial class ReliabilityTests
{
    /// <summary>
    /// Security settings reach the clients that use them, unchanged: Kafka SASL/SSL through
    /// TypedRpc:Kafka:Settings into the producer and consumer configurations, and the Redis password
    /// and TLS through TypedRpc:Redis:Configuration into StackExchange.Redis's options; the payload
    /// cap holds on the caller (the server side: KafkaCallTests).
    /// </summary>
    [Fact]
    public async Task S1_SecuritySettingsPassThrough_PayloadCapHolds()
    {
        var kafka = new KafkaTransportOptions { BootstrapServers = "broker:9093", ClientGroup = "shop" };
        kafka.Settings["security.protocol"] = "SASL_SSL";
        kafka.Settings["sasl.mechanism"] = "SCRAM-SHA-512";
        kafka.Settings["sasl.username"] = "shop";
        kafka.Settings["sasl.password"] = "s3cret";
        kafka.Settings["ssl.ca.location"] = "/etc/ssl/certs/ca.pem";
        var producer = KafkaClientConfig.Producer(kafka);
        var consumer = KafkaClientConfig.Consumer(kafka, "trpc.pricing");
        foreach (var config in new Confluent.Kafka.ClientConfig[] { producer, consumer })
        {
            var produced = config.ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.Equal("SASL_SSL", produced["security.protocol"]);
            Assert.Equal("SCRAM-SHA-512", produced["sasl.mechanism"]);
            Assert.Equal("shop", produced["sasl.username"]);
            Assert.Equal("s3cret", produced["sasl.password"]);
            Assert.Equal("/etc/ssl/certs/ca.pem", produced["ssl.ca.location"]);
            Assert.Equal("1000", produced["reconnect.backoff.max.ms"]); // TypedRpc's default (R5)
        }

        // A pass-through setting wins over TypedRpc's defaults.
        kafka.Settings["reconnect.backoff.max.ms"] = "5000";
        Assert.Equal("5000", KafkaClientConfig.Producer(kafka).Get("reconnect.backoff.max.ms"));
        Assert.Equal("5000", KafkaClientConfig.Consumer(kafka, "trpc.pricing").Get("reconnect.backoff.max.ms"));

        var redisOptions = RedisConfiguration.Create("redis-1:6380,password=s3cret,ssl=true,sslHost=redis.internal", TimeSpan.FromSeconds(2));
        Assert.Equal("s3cret", redisOptions.Password);
        Assert.True(redisOptions.Ssl);
        Assert.Equal("redis.internal", redisOptions.SslHost);
        Assert.False(redisOptions.AbortOnConnectFail);

        // The payload cap, over Kafka: a request too large fails on the caller before it is sent;
        // a reply too large fails on the server and reaches the caller as a status.
        await using var cluster = new ReliabilityCluster(redis.Configuration);
        await cluster.StartAsync(client: false, server: true);
        var client = await cluster.StartAsync(client: true, server: false, configure: null);
        await cluster.WaitForServersAsync(Settle);
        Assert.Contains("|", await Service(client).ProcessAsync(0, RpcCallOptions.Default.WithTimeout(Settle)));
        var transport = client.GetRequiredService<KafkaRpcTransport>();
        var big = RpcCallOptions.Default.WithTimeout(TimeSpan.FromSeconds(10)).WithHeaders(new System.Collections.Generic.Dictionary<string, string> { ["x-pad"] = new string('x', 1_100_000) });
        var tooLarge = await Assert.ThrowsAsync<RpcException>(() => Service(client).ProcessAsync(0, big));
        Assert.Equal(RpcStatusCode.ResourceExhausted, tooLarge.StatusCode);
        Assert.Contains("TypedRpc:Kafka:MaxMessageBytes", tooLarge.Status.Detail, StringComparison.Ordinal);
        GC.KeepAlive(transport);

        Print("S1", "Kafka SASL/SSL settings reach producer and consumer configurations; Redis password/TLS reach StackExchange.Redis; an oversized request fails ResourceExhausted before sending");
    }
}
