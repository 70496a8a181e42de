using System;
using System.Threading.Tasks;
using System.Collections.Generic;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TypedRpc.Kafka;
using TypedRpc.Redis;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>The whole setup from one configuration tree, as an application would load it from appsettings.json.</summary>
public sealed class ConfigurationTests
{
    private static IConfigurationRoot Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    [Fact]
    public void TypedRpcKafkaAndRedis_BindFromTheirSections()
    {
        var configuration = Configuration(new()
        {
            ["TypedRpc:InstanceId"] = "shop-1",
            ["TypedRpc:Kafka:BootstrapServers"] = "kafka-1:9092,kafka-2:9092",
            ["TypedRpc:Kafka:ClientGroup"] = "shop",
            ["TypedRpc:Kafka:ReplyRouting"] = "ConsumerGroup",
            ["TypedRpc:Kafka:RequestTopics:pricing"] = "pricing-v2",
            ["TypedRpc:Kafka:Settings:security.protocol"] = "SASL_SSL",
            ["TypedRpc:Kafka:Settings:sasl.mechanism"] = "SCRAM-SHA-512",
            ["TypedRpc:Redis:Configuration"] = "redis-1:6379,password=secret",
            ["TypedRpc:Redis:Namespace"] = "shop",
        });
        var services = new ServiceCollection();
        services.AddTypedRpc(configuration.GetSection("TypedRpc"))
            .AddKafka(configuration.GetSection("TypedRpc:Kafka"))
            .AddRedis(configuration.GetSection("TypedRpc:Redis"));
        using var provider = services.BuildServiceProvider();

        var kafka = provider.GetRequiredService<IOptions<KafkaTransportOptions>>().Value;
        Assert.Equal("kafka-1:9092,kafka-2:9092", kafka.BootstrapServers);
        Assert.Equal(ReplyRouting.ConsumerGroup, kafka.ReplyRouting);
        Assert.Equal("pricing-v2", kafka.RequestTopics["pricing"]);
        Assert.Equal("SASL_SSL", kafka.Settings["security.protocol"]);
        Assert.Equal("SCRAM-SHA-512", kafka.Settings["sasl.mechanism"]);
        var redis = provider.GetRequiredService<IOptions<RedisOwnershipStoreOptions>>().Value;
        Assert.Equal("shop", redis.Namespace);
        Assert.Equal("shop-1", provider.GetRequiredService<IOptions<TypedRpcOptions>>().Value.InstanceId);
    }

    [Theory]
    [InlineData("TypedRpc:Kafka:MaxMessageBytes", "10")]
    [InlineData("TypedRpc:Kafka:ClientGroup", "bad group")]
    [InlineData("TypedRpc:Kafka:LeaseRenewInterval", "00:01:00")]
    public void ABadKafkaValue_IsNamedInTheError(string key, string value)
    {
        var configuration = Configuration(new() { ["TypedRpc:Kafka:BootstrapServers"] = "localhost:9092", [key] = value });
        var services = new ServiceCollection();
        services.AddTypedRpc().AddKafka(configuration.GetSection("TypedRpc:Kafka"));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<KafkaTransportOptions>>().Value);
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheMqttTransport_BindsFromItsSection_AndIsTheTransport()
    {
        var configuration = Configuration(new()
        {
            ["TypedRpc:InstanceId"] = "shop-1",
            ["TypedRpc:Mqtt:Server"] = "broker.example:8883",
            ["TypedRpc:Mqtt:ClientGroup"] = "shop",
            ["TypedRpc:Mqtt:UseTls"] = "true",
            ["TypedRpc:Mqtt:Username"] = "shop",
            ["TypedRpc:Mqtt:Password"] = "secret",
            ["TypedRpc:Mqtt:RepublishUnclaimedAfter"] = "00:00:02",
            ["TypedRpc:Mqtt:SessionExpiry"] = "00:10:00",
        });
        var services = new ServiceCollection();
        services.AddTypedRpc(configuration.GetSection("TypedRpc"))
            .AddMqtt(configuration.GetSection("TypedRpc:Mqtt"))
            .UseInMemoryOwnershipStore();
        await using var provider = services.BuildServiceProvider();

        var mqtt = provider.GetRequiredService<IOptions<TypedRpc.Mqtt.MqttTransportOptions>>().Value;
        Assert.Equal("broker.example:8883", mqtt.Server);
        Assert.True(mqtt.UseTls);
        Assert.Equal("secret", mqtt.Password);
        Assert.Equal(TimeSpan.FromSeconds(2), mqtt.RepublishUnclaimedAfter);
        Assert.Equal(TimeSpan.FromMinutes(10), mqtt.SessionExpiry);
        var transport = Assert.IsType<TypedRpc.Mqtt.MqttRpcTransport>(provider.GetRequiredService<TypedRpc.Transport.IRpcTransport>());
        Assert.Equal("shop/replies/shop-1", transport.ReplyTopic);
    }

    [Theory]
    [InlineData("TypedRpc:Mqtt:Server", "")]
    [InlineData("TypedRpc:Mqtt:MaxMessageBytes", "10")]
    [InlineData("TypedRpc:Mqtt:ClientGroup", "a/b")]
    [InlineData("TypedRpc:Mqtt:RequestTopic", "{service}/requests/x{method}")]
    [InlineData("TypedRpc:Mqtt:RepublishUnclaimedAfter", "00:00:00.010")]
    public void ABadMqttValue_IsNamedInTheError(string key, string value)
    {
        var configuration = Configuration(new() { ["TypedRpc:Mqtt:Server"] = "localhost", [key] = value });
        var services = new ServiceCollection();
        services.AddTypedRpc().AddMqtt(configuration.GetSection("TypedRpc:Mqtt"));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TypedRpc.Mqtt.MqttTransportOptions>>().Value);
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }
}
