using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.DevServices;
using TypedRpc.Hosting;
using TypedRpc.InMemory;
using TypedRpc.Kafka;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests;

public sealed class EmbeddedKafkaTests(ITestOutputHelper output)
{
    // A group's first join on the embedded mock takes milliseconds, a rebalance with the embedded
    // settings ~5 s (session 6 s - 1 s); one with librdkafka's defaults ~44 s.
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(20);

    // A response queued behind an unacknowledged one waits for the peer's delayed ACK (40 ms on
    // Linux) unless the broker's side of the connection has Nagle's algorithm off, as a real
    // broker's has. The mock's accepted sockets take the settings of the handle that runs it.
    [Fact]
    public async Task TheBrokersSideOfEachConnection_HasNagleTurnedOff()
    {
        Assert.True(OperatingSystem.IsLinux(), "reads this process's sockets from /proc");
        using var kafka = new EmbeddedKafka(brokers: 2);
        kafka.CreateTopic("nagle", 2, 1);
        var ports = kafka.BootstrapServers.Split(',').Select(s => int.Parse(s[(s.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture)).ToHashSet();

        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 0 })
            .SetLogHandler((_, _) => { }).Build();
        await producer.ProduceAsync(new TopicPartition("nagle", 0), new Message<byte[]?, byte[]?> { Value = [1] });
        await producer.ProduceAsync(new TopicPartition("nagle", 1), new Message<byte[]?, byte[]?> { Value = [2] });
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig(new Dictionary<string, string>(kafka.ClientSettings)) { GroupId = "nagle" })
            .SetLogHandler((_, _) => { }).Build();
        consumer.Assign(new TopicPartitionOffset(new TopicPartition("nagle", 0), Offset.Beginning));
        Assert.NotNull(consumer.Consume(TimeSpan.FromSeconds(10)));

        var brokerSides = BrokerSockets.Accepted(ports);
        output.WriteLine($"brokers' sides of connections: {brokerSides.Count}, Nagle off on {brokerSides.Count(s => s.NoDelay)}");
        Assert.True(brokerSides.Count >= 2, $"expected the producer's and the consumer's connections, found {brokerSides.Count}");
        Assert.All(brokerSides, socket => Assert.True(socket.NoDelay, $"descriptor {socket.Descriptor} (port {socket.Port}) has Nagle's algorithm on"));
    }

    // One librdkafka in the process, the package's own: Confluent.Kafka's clients and the mock
    // cluster's entry points bind to the same file, whatever the system has installed (Debian's
    // librdkafka-dev puts a 2.0.2 librdkafka.so on the default search path).
    [Fact]
    public void TheClientsAndTheMockCluster_RunOnThePackagesLibrdkafka()
    {
        Assert.True(OperatingSystem.IsLinux(), "reads this process's mappings from /proc");
        using var kafka = new EmbeddedKafka();
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers })
            .SetLogHandler((_, _) => { }).Build();

        // Confluent.Kafka and librdkafka.redist are released together under one version number.
        var packaged = System.Xml.Linq.XDocument.Load(Path.Combine(Repository.Root(), "Directory.Packages.props"))
            .Descendants("PackageVersion").Single(e => (string?)e.Attribute("Include") == "Confluent.Kafka").Attribute("Version")!.Value;
        Assert.Equal(packaged, Library.VersionString);
        Assert.Equal(packaged, KafkaNativeLibrary.Version);
        Assert.Equal(packaged, EmbeddedKafka.LibrdkafkaVersion);

        var loaded = KafkaNativeLibrary.LoadedFrom;
        output.WriteLine($"librdkafka {Library.VersionString} from {loaded}");
        Assert.NotNull(loaded);
        Assert.StartsWith(AppContext.BaseDirectory, loaded, StringComparison.Ordinal);
        var mapped = File.ReadLines("/proc/self/maps").Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && Path.GetFileName(fields[5]).Contains("librdkafka", StringComparison.Ordinal))
            .Select(fields => fields[5]).Distinct(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { loaded }, mapped);
    }

    // The mock, like a broker, lets a new group wait group.initial.rebalance.delay.ms (3 s) for more
    // members before it assigns anything; EmbeddedKafka sets it to 0.
    [Fact]
    public void AFreshGroupsFirstAssignment_DoesNotWaitForMoreMembers()
    {
        using var kafka = new EmbeddedKafka();
        kafka.CreateTopic("first-join", 2);
        using var assigned = new ManualResetEventSlim();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig(new Dictionary<string, string>(kafka.ClientSettings)) { GroupId = "first-join" })
            .SetLogHandler((_, _) => { })
            .SetPartitionsAssignedHandler((_, _) => assigned.Set())
            .Build();
        var watch = Stopwatch.StartNew();
        consumer.Subscribe("first-join");
        while (!assigned.IsSet && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            consumer.Consume(TimeSpan.FromMilliseconds(10));
        }

        output.WriteLine($"first assignment after {watch.Elapsed.TotalMilliseconds:0} ms");
        Assert.True(assigned.IsSet, "no assignment within 10 s");
        // Measured 4-54 ms; with the mock's default delay it was over 3 s.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"the first assignment took {watch.Elapsed.TotalMilliseconds:0} ms");
        consumer.Close();
    }

    // With librdkafka's defaults (session 45 s, heartbeat 3 s) a group whose SyncGroup the mock
    // refuses sits in wait-join for ~40 s; the settings EmbeddedKafka hands out keep that short.
    [Fact]
    public void TheSettingsHandedOut_CarryTheMocksConsumerTimings()
    {
        using var kafka = new EmbeddedKafka();

        Assert.Equal(kafka.BootstrapServers, kafka.ClientSettings["bootstrap.servers"]);
        Assert.Equal("6000", kafka.ClientSettings["session.timeout.ms"]);
        Assert.Equal("500", kafka.ClientSettings["heartbeat.interval.ms"]);
        Assert.Equal("1", kafka.ClientSettings["fetch.wait.max.ms"]);

        var options = new KafkaTransportOptions();
        kafka.ConfigureTransport(options);
        Assert.Equal(kafka.BootstrapServers, options.BootstrapServers);
        Assert.Empty(KafkaTransportOptionsValidator.Problems(options));
        var consumer = KafkaClientConfig.Consumer(options, "g");
        Assert.Equal(kafka.BootstrapServers, consumer.BootstrapServers);
        Assert.Equal(6_000, consumer.SessionTimeoutMs);
        Assert.Equal(500, consumer.HeartbeatIntervalMs);
        Assert.Equal(1, consumer.FetchWaitMaxMs);

        // Consumer-only settings stay off the producer (librdkafka would warn about each).
        var producer = KafkaClientConfig.Producer(options);
        Assert.DoesNotContain(producer, setting => setting.Key is "session.timeout.ms" or "heartbeat.interval.ms" or "fetch.wait.max.ms");
    }

    // A member joining a group that is up makes the mock wait session.timeout.ms - 1 s for every
    // member to rejoin, with no partitions assigned meanwhile: with librdkafka's 45 s session the
    // calls made while a second server starts waited ~44 s (and the first call of a deployment
    // whose servers start a few seconds apart timed out).
    [Fact]
    public async Task AServerGroupAndAClient_ConfiguredOnlyThroughTheEmbeddedSettings_AnswerPromptly_AlsoWhileServersJoin()
    {
        using var kafka = new EmbeddedKafka(brokers: 3);
        // The contract's default topics: the mock cannot create topics through the admin API.
        kafka.CreateTopic("integration.requests", 6);
        kafka.CreateTopic("default.replies", 6);
        var store = new InMemoryOwnershipStore();
        var instances = new List<(ServiceProvider Provider, TypedRpcRuntime Runtime)>();
        try
        {
            var watch = Stopwatch.StartNew();
            instances.AddRange(await Task.WhenAll(StartAsync(kafka, store, "pricing-1", client: false), StartAsync(kafka, store, "shop-1", client: true)));
            var client = instances[1].Provider.GetRequiredService<IIntegrationService>();
            await client.PingAsync().WaitAsync(Prompt);
            output.WriteLine($"first call answered {watch.Elapsed.TotalSeconds:0.0} s after start");

            // Two more servers join the group that is up; calls go on meanwhile.
            watch.Restart();
            var joining = Task.WhenAll(StartAsync(kafka, store, "pricing-2", client: false), StartAsync(kafka, store, "pricing-3", client: false));
            var slowest = TimeSpan.Zero;
            while (watch.Elapsed < TimeSpan.FromSeconds(10))
            {
                var call = Stopwatch.StartNew();
                Assert.Equal(5, await client.AddAsync(2, 3).AsTask().WaitAsync(Prompt));
                slowest = call.Elapsed > slowest ? call.Elapsed : slowest;
                await Task.Delay(100);
            }

            instances.AddRange(await joining);
            output.WriteLine($"slowest call while two servers joined: {slowest.TotalSeconds:0.0} s");
        }
        finally
        {
            foreach (var (provider, runtime) in instances)
            {
                await runtime.StopAsync(CancellationToken.None);
                await provider.DisposeAsync();
            }
        }
    }

    private static async Task<(ServiceProvider Provider, TypedRpcRuntime Runtime)> StartAsync(EmbeddedKafka kafka, InMemoryOwnershipStore store, string id, bool client)
    {
        var services = new ServiceCollection();
        services.AddSingleton(new IntegrationState());
        var builder = services.AddTypedRpc(o => o.InstanceId = id)
            .AddKafka(kafka.ConfigureTransport)
            .UseInMemoryOwnershipStore(store);
        if (client)
        {
            builder.AddClient<IIntegrationService>();
        }
        else
        {
            builder.AddServer<IntegrationService>();
        }

        var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        return (provider, runtime);
    }
}
