using System;
using System.Threading.Tasks;
using TypedRpc.DevServices;
using TypedRpc.Kafka;

namespace Quickstart;

/// <summary>
/// Kafka and Redis for the demo: the ones named by <c>--kafka</c>/<c>--redis</c>, or an embedded
/// Kafka (librdkafka's in-process mock cluster, real Kafka protocol on loopback ports) and an
/// embedded Redis (Garnet in this process, Redis protocol on a loopback port).
/// </summary>
public sealed class Infrastructure : IAsyncDisposable
{
    private EmbeddedKafka? _kafka;
    private EmbeddedRedis? _redis;
    private LocalMosquitto? _mosquitto;
    private readonly bool _kafkaIsMock;

    private Infrastructure(string bootstrapServers, bool kafkaIsMock, string redis)
    {
        BootstrapServers = bootstrapServers;
        _kafkaIsMock = kafkaIsMock;
        Redis = redis;
    }

    /// <summary>Kafka's bootstrap servers.</summary>
    public string BootstrapServers { get; private set; }

    /// <summary>The MQTT broker (host:port) when the demo runs over MQTT, else empty.</summary>
    public string MqttServer { get; private set; } = string.Empty;

    /// <summary><see langword="true"/> when the MQTT broker is a mosquitto this process started.</summary>
    public bool LocalMqtt => _mosquitto is not null;

    /// <summary>The Redis configuration string.</summary>
    public string Redis { get; private set; }

    /// <summary><see langword="true"/> when Kafka is the embedded mock cluster.</summary>
    public bool EmbeddedKafka => _kafka is not null;

    /// <summary><see langword="true"/> when Redis is the embedded Garnet.</summary>
    public bool EmbeddedRedis => _redis is not null;

    /// <summary><see langword="true"/> when Kafka is a mock cluster: the embedded one, or another process's (<c>--kafka-mock</c>).</summary>
    public bool KafkaIsMock => _kafka is not null || _kafkaIsMock;

    /// <summary>
    /// Gives the transport the settings a client of the mock cluster needs (<see cref="TypedRpc.DevServices.EmbeddedKafka.ConfigureTransport(KafkaTransportOptions)"/>);
    /// configured before the <c>TypedRpc:Kafka</c> section is bound, so configuration can still change them.
    /// </summary>
    public void ConfigureMockKafka(KafkaTransportOptions options)
    {
        if (_kafka is not null)
        {
            _kafka.ConfigureTransport(options);
        }
        else if (_kafkaIsMock)
        {
            TypedRpc.DevServices.EmbeddedKafka.ConfigureTransport(options, BootstrapServers);
        }
    }

    /// <summary>Attaches to the given servers, starting embedded ones for those not given.</summary>
    public static async Task<Infrastructure> StartAsync(DemoSettings settings)
    {
        var infrastructure = new Infrastructure(settings.Kafka ?? string.Empty, settings.KafkaIsMock, settings.Redis ?? string.Empty);
        try
        {
            if (settings.Transport == DemoTransport.Mqtt)
            {
                if (settings.Mqtt is null)
                {
                    // Debian's mosquitto (./build.sh demo --transport mqtt installs it), on a free loopback port.
                    infrastructure._mosquitto = await LocalMosquitto.StartAsync();
                    infrastructure.MqttServer = $"{infrastructure._mosquitto.Host}:{infrastructure._mosquitto.Port}";
                }
                else
                {
                    infrastructure.MqttServer = settings.Mqtt;
                }
            }
            else if (settings.Kafka is null)
            {
                infrastructure._kafka = new EmbeddedKafka(brokers: 3);
                infrastructure.BootstrapServers = infrastructure._kafka.BootstrapServers;
                // The mock cluster cannot create topics through the admin API; create them here with
                // the partition counts appsettings.json names (a real cluster: TypedRpc creates them).
                infrastructure._kafka.CreateTopic(settings.RequestTopic, settings.RequestPartitions);
                infrastructure._kafka.CreateTopic(settings.ReplyTopic, settings.ReplyPartitions);
                // The server instances start together: a group that assigned its first member at
                // once would rebalance as the others join, and the mock holds a rebalance for
                // session.timeout.ms - 1 s (the first scene's calls waited ~4.6 s). Waiting 1 s
                // for more members lets all three land in the first assignment.
                infrastructure._kafka.SetGroupInitialRebalanceDelay(TimeSpan.FromSeconds(1));
            }

            if (settings.Redis is null)
            {
                infrastructure._redis = new EmbeddedRedis();
                infrastructure.Redis = infrastructure._redis.Configuration;
            }

            return infrastructure;
        }
        catch
        {
            await infrastructure.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _kafka?.Dispose();
        _redis?.Dispose();
        if (_mosquitto is not null)
        {
            await _mosquitto.DisposeAsync();
        }
    }
}
