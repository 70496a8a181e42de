using System;
using System.Diagnostics;
using System.Threading.Tasks;
using Confluent.Kafka;
using TypedRpc.DevServices;
using Xunit;

namespace TypedRpc.IntegrationTests;

public sealed class EmbeddedKafkaTests
{
    // The mock broker leaves Nagle's algorithm on for the connections it accepts (a real broker
    // turns it off); EmbeddedKafka turns it off on each, or responses stall 40 ms under load.
    [Fact]
    public async Task TheBrokersSideOfEachConnection_HasNagleTurnedOff()
    {
        using var kafka = new EmbeddedKafka(brokers: 2);
        kafka.CreateTopic("nagle", 2, 1);
        Assert.Equal(0, kafka.TunedConnections);

        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 0 })
            .SetLogHandler((_, _) => { }).Build();
        await producer.ProduceAsync(new TopicPartition("nagle", 0), new Message<byte[]?, byte[]?> { Value = [1] });
        await producer.ProduceAsync(new TopicPartition("nagle", 1), new Message<byte[]?, byte[]?> { Value = [2] });

        await WaitUntilAsync(() => kafka.TunedConnections >= 1);
        var afterProducer = kafka.TunedConnections;

        // Connections made later are found too.
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = "nagle" })
            .SetLogHandler((_, _) => { }).Build();
        consumer.Assign(new TopicPartitionOffset(new TopicPartition("nagle", 0), Offset.Beginning));
        Assert.NotNull(consumer.Consume(TimeSpan.FromSeconds(10)));
        await WaitUntilAsync(() => kafka.TunedConnections > afterProducer);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), "no broker connection was tuned within 5 s");
            await Task.Delay(20);
        }
    }
}
