using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using TypedRpc.Kafka;

namespace TypedRpc.DevServices;

/// <summary>
/// A Kafka cluster inside this process: librdkafka's mock cluster, which serves the real Kafka
/// protocol on loopback ports, so any Kafka client (in this process or another) can connect with
/// <see cref="BootstrapServers"/>. For demos and tests; it lives as long as this object.
/// </summary>
/// <remarks>
/// <para>
/// Configure clients through this class, not with <see cref="BootstrapServers"/> alone:
/// <see cref="ConfigureTransport(KafkaTransportOptions)"/> for TypedRpc's transport
/// (<c>.AddKafka(kafka.ConfigureTransport)</c>), <see cref="ClientSettings"/> for a Confluent.Kafka
/// consumer of your own. With librdkafka's default consumer timings (session 45 s) a group whose
/// SyncGroup the mock refuses sits in wait-join for ~40 s, and the first calls to its contract time
/// out; the settings handed out here never let that happen.
/// </para>
/// <para>
/// Facts worth knowing (DESIGN.md §9): topics must be created with <see cref="CreateTopic"/>
/// (the mock does not support CreateTopics; auto-created topics get 4 partitions); a consumer
/// group's first join takes about 3 s; an empty fetch is held for the whole <c>fetch.wait.max.ms</c>,
/// so clients should use a small value; the mock scans a partition linearly on each fetch, so it
/// slows down as partitions fill — use a fresh cluster per long scenario. Unlike a real broker, the
/// mock leaves Nagle's algorithm on for the connections it accepts, which stalls responses by 40 ms
/// under load; this class turns it off on them (<see cref="BrokerSocketTuner"/>).
/// </para>
/// </remarks>
public sealed class EmbeddedKafka : IDisposable
{
    // session.timeout.ms for consumer groups on the mock. A member the mock refuses a SyncGroup
    // rejoins only after its session would have ended: with librdkafka's 45 s that stalled a server
    // group's first calls for 41 s. 6 s is also a real broker's smallest (group.min.session.timeout.ms).
    private const int SessionTimeoutMs = 6_000;

    // Well inside the session, so members learn of a rebalance quickly.
    private const int HeartbeatIntervalMs = 500;

    // The mock holds an empty fetch for the whole wait (a real broker answers when data arrives), so
    // this is the floor of a reply's latency on an idle partition.
    private const int FetchWaitMaxMs = 1;

    private readonly object _lock = new();
    private readonly BrokerSocketTuner _tuner;
    private IntPtr _handle;
    private IntPtr _cluster;

    /// <summary>Starts a mock cluster.</summary>
    /// <param name="brokers">The number of brokers (ids 1…<paramref name="brokers"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="brokers"/> is not 1–16.</exception>
    /// <exception cref="InvalidOperationException">librdkafka is missing or the cluster could not start.</exception>
    public EmbeddedKafka(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokers, 16);
        BrokerCount = brokers;
        var error = new byte[512];
        IntPtr conf;
        try
        {
            conf = NativeMethods.rd_kafka_conf_new();
        }
        catch (DllNotFoundException ex)
        {
            throw new InvalidOperationException("librdkafka.so.1 was not found; install it with: sudo apt-get install -y librdkafka1", ex);
        }

        // The handle only keeps the cluster's bookkeeping; keep it quiet.
        NativeMethods.rd_kafka_conf_set(conf, "log_level", "3", error, (UIntPtr)error.Length);
        _handle = NativeMethods.rd_kafka_new(NativeMethods.ProducerType, conf, error, (UIntPtr)error.Length);
        if (_handle == IntPtr.Zero)
        {
            NativeMethods.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException("Could not create the librdkafka handle for the mock cluster: " + Text(error));
        }

        _cluster = NativeMethods.rd_kafka_mock_cluster_new(_handle, brokers);
        if (_cluster == IntPtr.Zero)
        {
            NativeMethods.rd_kafka_destroy(_handle);
            _handle = IntPtr.Zero;
            throw new InvalidOperationException("librdkafka could not start the mock cluster.");
        }

        BootstrapServers = Marshal.PtrToStringUTF8(NativeMethods.rd_kafka_mock_cluster_bootstraps(_cluster))
            ?? throw new InvalidOperationException("The mock cluster reported no bootstrap servers.");
        ClientSettings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = BootstrapServers,
            ["session.timeout.ms"] = SessionTimeoutMs.ToString(CultureInfo.InvariantCulture),
            ["heartbeat.interval.ms"] = HeartbeatIntervalMs.ToString(CultureInfo.InvariantCulture),
            ["fetch.wait.max.ms"] = FetchWaitMaxMs.ToString(CultureInfo.InvariantCulture),
        }.AsReadOnly();
        _tuner = new BrokerSocketTuner(Ports(BootstrapServers));
    }

    /// <summary>
    /// The <c>bootstrap.servers</c> value that reaches the cluster, e.g. <c>127.0.0.1:41235,127.0.0.1:38111</c>.
    /// Enough for a producer; a consumer needs <see cref="ClientSettings"/>.
    /// </summary>
    public string BootstrapServers { get; }

    /// <summary>
    /// The librdkafka settings of a consumer of this cluster: <c>bootstrap.servers</c>,
    /// <c>session.timeout.ms</c> 6000 and <c>heartbeat.interval.ms</c> 500 (see the class remarks),
    /// and <c>fetch.wait.max.ms</c> 1 (the mock holds an empty fetch for the whole wait). For example
    /// <c>new ConsumerConfig(new Dictionary&lt;string, string&gt;(kafka.ClientSettings)) { GroupId = "g" }</c>.
    /// A producer needs only <see cref="BootstrapServers"/> (librdkafka ignores consumer settings
    /// given to a producer, and logs a warning about each).
    /// </summary>
    public IReadOnlyDictionary<string, string> ClientSettings { get; }

    /// <summary>The number of brokers; their ids are 1 to this number.</summary>
    public int BrokerCount { get; }

    /// <summary>The librdkafka version in use.</summary>
    public static string LibrdkafkaVersion => Marshal.PtrToStringUTF8(NativeMethods.rd_kafka_version_str()) ?? "unknown";

    /// <summary>
    /// Points TypedRpc's Kafka transport at this cluster with the settings the mock needs:
    /// <see cref="KafkaTransportOptions.BootstrapServers"/>, <see cref="KafkaTransportOptions.FetchWaitMax"/>
    /// and, in <see cref="KafkaTransportOptions.ConsumerSettings"/>, the consumer-group timings of
    /// <see cref="ClientSettings"/>. Pass it to <c>AddKafka</c> — <c>.AddKafka(kafka.ConfigureTransport)</c>,
    /// or call it first in your own delegate and change anything after it.
    /// </summary>
    /// <param name="options">The transport's options.</param>
    public void ConfigureTransport(KafkaTransportOptions options) => ConfigureTransport(options, BootstrapServers);

    /// <summary>
    /// As <see cref="ConfigureTransport(KafkaTransportOptions)"/>, for a process that uses a mock
    /// cluster another process started (it knows only the bootstrap servers).
    /// </summary>
    /// <param name="options">The transport's options.</param>
    /// <param name="bootstrapServers">The mock cluster's <see cref="BootstrapServers"/>.</param>
    public static void ConfigureTransport(KafkaTransportOptions options, string bootstrapServers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(bootstrapServers);
        options.BootstrapServers = bootstrapServers;
        options.FetchWaitMax = TimeSpan.FromMilliseconds(FetchWaitMaxMs);
        // Consumer settings, not Settings: those reach the producer too, which would log a
        // warning for each consumer-only key.
        options.ConsumerSettings["session.timeout.ms"] = SessionTimeoutMs.ToString(CultureInfo.InvariantCulture);
        options.ConsumerSettings["heartbeat.interval.ms"] = HeartbeatIntervalMs.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Creates a topic.</summary>
    /// <param name="topic">The topic name.</param>
    /// <param name="partitions">The number of partitions (1 or more).</param>
    /// <param name="replicationFactor">The replication factor (1 to <see cref="BrokerCount"/>).</param>
    /// <exception cref="InvalidOperationException">The mock refused (for example, the topic exists).</exception>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, BrokerCount);
        Check(NativeMethods.rd_kafka_mock_topic_create(Cluster, topic, partitions, replicationFactor), $"create topic '{topic}'");
    }

    /// <summary>Takes a broker down: its connections are closed and it refuses new ones.</summary>
    /// <param name="brokerId">1 to <see cref="BrokerCount"/>.</param>
    public void SetBrokerDown(int brokerId) => Check(NativeMethods.rd_kafka_mock_broker_set_down(Cluster, CheckBroker(brokerId)), $"take broker {brokerId} down");

    /// <summary>Brings a broker back up.</summary>
    /// <param name="brokerId">1 to <see cref="BrokerCount"/>.</param>
    public void SetBrokerUp(int brokerId) => Check(NativeMethods.rd_kafka_mock_broker_set_up(Cluster, CheckBroker(brokerId)), $"bring broker {brokerId} up");

    /// <summary>Adds a round-trip delay to a broker's responses.</summary>
    /// <param name="brokerId">1 to <see cref="BrokerCount"/>.</param>
    /// <param name="rttMs">The delay in milliseconds (0 to remove it).</param>
    public void SetBrokerRoundTrip(int brokerId, int rttMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rttMs);
        Check(NativeMethods.rd_kafka_mock_broker_set_rtt(Cluster, CheckBroker(brokerId), rttMs), $"set the round trip of broker {brokerId}");
    }

    /// <summary>Stops the cluster and frees it; clients connected to it lose their connections.</summary>
    public void Dispose()
    {
        _tuner.Dispose();
        lock (_lock)
        {
            if (_cluster != IntPtr.Zero)
            {
                NativeMethods.rd_kafka_mock_cluster_destroy(_cluster);
                _cluster = IntPtr.Zero;
            }

            // The handle must outlive the cluster.
            if (_handle != IntPtr.Zero)
            {
                NativeMethods.rd_kafka_destroy(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }

    /// <summary>The brokers' connections on which Nagle's algorithm was turned off so far (see <see cref="BrokerSocketTuner"/>).</summary>
    public int TunedConnections => _tuner.Tuned;

    private static IEnumerable<int> Ports(string bootstrapServers)
    {
        foreach (var server in bootstrapServers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            yield return int.Parse(server.AsSpan(server.LastIndexOf(':') + 1), CultureInfo.InvariantCulture);
        }
    }

    private IntPtr Cluster
    {
        get
        {
            var cluster = _cluster;
            ObjectDisposedException.ThrowIf(cluster == IntPtr.Zero, this);
            return cluster;
        }
    }

    private int CheckBroker(int brokerId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerId, BrokerCount);
        return brokerId;
    }

    private static void Check(int error, string what)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"The mock cluster could not {what}: {NativeMethods.ErrorText(error)}.");
        }
    }

    private static string Text(byte[] error)
    {
        var length = Array.IndexOf(error, (byte)0);
        return Encoding.UTF8.GetString(error, 0, length < 0 ? error.Length : length);
    }
}
