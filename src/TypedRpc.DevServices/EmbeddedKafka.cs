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
/// Configure clients through this class, not with <see cref="BootstrapServers"/> alone:
/// <see cref="ConfigureTransport(KafkaTransportOptions)"/> for TypedRpc's transport
/// (<c>.AddKafka(kafka.ConfigureTransport)</c>), <see cref="ClientSettings"/> for a Confluent.Kafka
/// consumer of your own. A member joining a group that is up makes the mock wait
/// <c>session.timeout.ms</c> − 1 s with no partitions assigned: with librdkafka's default session
/// (45 s) calls wait most of a minute, with the 6 s sessions handed out here a few seconds. Create
/// topics with <see cref="CreateTopic"/> (the mock does not support CreateTopics; auto-created
/// topics get 4 partitions). The mock scans a partition linearly on each fetch, so it slows down
/// as partitions fill: use a fresh cluster per long scenario.
/// </remarks>
public sealed class EmbeddedKafka : IDisposable
{
    // session.timeout.ms for consumer groups on the mock. A member the mock refuses a SyncGroup
    // rejoins only after its session would have ended, which with librdkafka's 45 s holds a server
    // group's first calls for ~41 s. 6 s is also a real broker's smallest (group.min.session.timeout.ms).
    private const int SessionTimeoutMs = 6_000;

    // Well inside the session, so members learn of a rebalance quickly.
    private const int HeartbeatIntervalMs = 500;

    // The mock holds an empty fetch for the whole wait (a real broker answers when data arrives), so
    // this is the floor of a reply's latency on an idle partition.
    private const int FetchWaitMaxMs = 1;

    // group.initial.rebalance.delay.ms of the mock's groups until SetGroupInitialRebalanceDelay:
    // how long a group with no members waits for more after the first joins before it assigns. The
    // mock's default, like a broker's, is 3 s, which every test's and demo's first call would wait out.
    private const int InitialRebalanceDelayMs = 0;

    private readonly object _lock = new();
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
        try
        {
            // The library Confluent.Kafka uses, loaded now so that a missing one is reported here.
            _ = KafkaNativeLibrary.Handle;
        }
        catch (DllNotFoundException ex)
        {
            throw new InvalidOperationException(
                "librdkafka could not be loaded: it comes with the Confluent.Kafka package (librdkafka.redist), whose files must be in the application's output (runtimes/<rid>/native).", ex);
        }

        NativeMethods.Bind();
        var error = new byte[512];
        var conf = NativeMethods.rd_kafka_conf_new();

        // The handle only keeps the cluster's bookkeeping; keep it quiet.
        SetConf(conf, "log_level", "3", error);
        // The brokers' side of each connection takes this handle's socket settings. Nagle's algorithm
        // on would stall a response queued behind an unacknowledged one by the peer's delayed ACK
        // (40 ms on Linux); off is librdkafka's default since 2.10, set here so it never depends on it.
        SetConf(conf, "socket.nagle.disable", "true", error);
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

        NativeMethods.rd_kafka_mock_group_initial_rebalance_delay_ms(_cluster, InitialRebalanceDelayMs);

        BootstrapServers = Marshal.PtrToStringUTF8(NativeMethods.rd_kafka_mock_cluster_bootstraps(_cluster))
            ?? throw new InvalidOperationException("The mock cluster reported no bootstrap servers.");
        ClientSettings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = BootstrapServers,
            ["session.timeout.ms"] = SessionTimeoutMs.ToString(CultureInfo.InvariantCulture),
            ["heartbeat.interval.ms"] = HeartbeatIntervalMs.ToString(CultureInfo.InvariantCulture),
            ["fetch.wait.max.ms"] = FetchWaitMaxMs.ToString(CultureInfo.InvariantCulture),
        }.AsReadOnly();
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

    /// <summary>The version of the librdkafka the mock cluster runs in: the one Confluent.Kafka loaded.</summary>
    public static string LibrdkafkaVersion
    {
        get
        {
            NativeMethods.Bind();
            return Marshal.PtrToStringUTF8(NativeMethods.rd_kafka_version_str()) ?? "unknown";
        }
    }

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

    /// <summary>
    /// Sets how long a consumer group with no members waits, after the first one joins, for more
    /// before it assigns partitions (a broker's <c>group.initial.rebalance.delay.ms</c>, 3 s by
    /// default). The cluster starts with 0, so a group's first assignment comes within milliseconds;
    /// a longer delay lets members that start together land in one assignment instead of a first
    /// one and a rebalance. Applies to groups that form after the call.
    /// </summary>
    /// <param name="delay">0 or more, at most <see cref="int.MaxValue"/> milliseconds.</param>
    public void SetGroupInitialRebalanceDelay(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(delay, TimeSpan.FromMilliseconds(int.MaxValue));
        NativeMethods.rd_kafka_mock_group_initial_rebalance_delay_ms(Cluster, (int)delay.TotalMilliseconds);
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

    private static void SetConf(IntPtr conf, string name, string value, byte[] error)
    {
        if (NativeMethods.rd_kafka_conf_set(conf, name, value, error, (UIntPtr)error.Length) != 0)
        {
            NativeMethods.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"librdkafka refused {name}={value} for the mock cluster: {Text(error)}");
        }
    }

    private static string Text(byte[] error)
    {
        var length = Array.IndexOf(error, (byte)0);
        return Encoding.UTF8.GetString(error, 0, length < 0 ? error.Length : length);
    }
}
