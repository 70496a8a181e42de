using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>One client instance and one server instance over mosquitto, shared by a test class.</summary>
public sealed class MqttPairFixture(MosquittoFixture broker, Redis.RedisServerFixture redis) : PairFixture(redis)
{
    public MqttCluster Cluster => (MqttCluster)Deployment;

    public override IDeployment NewDeployment(string ns) => new MqttCluster(broker, () => Redis.CreateStore(ns), ns);
}

/// <summary>The engine's shared behaviours over MQTT 5.</summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class MqttCallTests(MqttPairFixture pair) : CallTests(pair), IClassFixture<MqttPairFixture>;

/// <summary>How a call's end crosses MQTT 5.</summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class MqttCallEndTests(MqttPairFixture pair) : CallEndTests(pair), IClassFixture<MqttPairFixture>;
