using System;
using System.Threading;
using TypedRpc.DevServices;
using TypedRpc.Kafka;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// One Kafka for the whole test run: librdkafka's mock cluster in this process, or the broker named
/// by <c>TYPEDRPC_KAFKA_BOOTSTRAP</c>. Tests isolate themselves by topic and group names.
/// </summary>
public sealed class KafkaFixture : IDisposable
{
    public const string BootstrapVariable = "TYPEDRPC_KAFKA_BOOTSTRAP";
    private static int s_counter;

    public KafkaFixture()
    {
        // The tests' own Confluent.Kafka clients may be built before any transport: load the
        // package's librdkafka first, as the transport would.
        KafkaNativeLibrary.Load();
        var external = Environment.GetEnvironmentVariable(BootstrapVariable);
        if (string.IsNullOrWhiteSpace(external))
        {
            Embedded = new EmbeddedKafka(brokers: 1);
            BootstrapServers = Embedded.BootstrapServers;
        }
        else
        {
            BootstrapServers = external;
        }
    }

    public EmbeddedKafka? Embedded { get; }

    public string BootstrapServers { get; }

    /// <summary>A name unique to this run, for topics and groups.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}";

    /// <summary>Creates a topic on the mock (a real broker gets it from the transport's admin request).</summary>
    public void CreateTopic(string topic, int partitions)
    {
        if (Embedded is not null)
        {
            try
            {
                Embedded.CreateTopic(topic, partitions);
            }
            catch (InvalidOperationException ex) when (ex.Message.Contains("already exists", StringComparison.Ordinal))
            {
                // Shared across test classes.
            }
        }
    }

    /// <summary>
    /// Makes the mock's groups that form until the result is disposed wait <paramref name="delay"/>
    /// for more members before their first assignment, as a broker's do (3 s by default; the
    /// embedded cluster's is 0). Nothing on a real broker.
    /// </summary>
    public IDisposable GroupInitialRebalanceDelay(TimeSpan delay)
    {
        Embedded?.SetGroupInitialRebalanceDelay(delay);
        return new Restore(Embedded);
    }

    public void Dispose() => Embedded?.Dispose();

    private sealed class Restore(EmbeddedKafka? embedded) : IDisposable
    {
        public void Dispose() => embedded?.SetGroupInitialRebalanceDelay(TimeSpan.Zero);
    }
}
