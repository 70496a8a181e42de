using TypedRpc.Kafka;

namespace Quickstart;

/// <summary>What the command line asked for.</summary>
public sealed record DemoSettings
{
    /// <summary>Kafka bootstrap servers, or <see langword="null"/> for the embedded mock cluster.</summary>
    public string? Kafka { get; init; }

    /// <summary>
    /// <see langword="true"/> when <see cref="Kafka"/> names an embedded mock cluster another
    /// process started (the server role prints such a command): its clients need the settings
    /// <c>EmbeddedKafka</c> hands out.
    /// </summary>
    public bool KafkaIsMock { get; init; }

    /// <summary>The transport between the clusters.</summary>
    public DemoTransport Transport { get; init; } = DemoTransport.Kafka;

    /// <summary>The MQTT 5 broker (host:port) with <see cref="DemoTransport.Mqtt"/>, or <see langword="null"/> for a mosquitto the demo starts.</summary>
    public string? Mqtt { get; init; }

    /// <summary>Redis configuration, or <see langword="null"/> for the embedded Redis (Garnet in this process).</summary>
    public string? Redis { get; init; }

    /// <summary>Which side(s) this process runs.</summary>
    public DemoRole Role { get; init; } = DemoRole.Both;

    /// <summary>Instances per cluster in this process.</summary>
    public int Instances { get; init; } = 3;

    /// <summary>Calls in the routing scene.</summary>
    public int Calls { get; init; } = 60;

    /// <summary>How replies reach the callers.</summary>
    public ReplyRouting Routing { get; init; } = ReplyRouting.LeasedPartitions;

    /// <summary>The first client instance's HTTP port (the next ones count up); 0 picks free ports.</summary>
    public int HttpPort { get; init; }

    /// <summary>Keep serving HTTP after the walkthrough, until Ctrl+C.</summary>
    public bool Serve { get; init; }

    /// <summary>The key the client instances sign result handles with (shared by the instances of this run).</summary>
    public string ResultSigningKey { get; init; } = System.Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>A prefix for instance names (so two processes on one cluster do not collide).</summary>
    public string NamePrefix { get; init; } = string.Empty;

    /// <summary>The request topic (the contract's default: service name + ".requests").</summary>
    public string RequestTopic => "pricing.requests";

    /// <summary>The reply topic of the client group "shop".</summary>
    public string ReplyTopic => "shop.replies";

    /// <summary>As in appsettings.json.</summary>
    public int RequestPartitions => 6;

    /// <summary>As in appsettings.json.</summary>
    public int ReplyPartitions => 6;
}

/// <summary>The transport the demo runs over.</summary>
public enum DemoTransport
{
    /// <summary>Kafka (the default): the embedded mock cluster, or <c>--kafka</c>.</summary>
    Kafka,

    /// <summary>An MQTT 5 broker: a mosquitto the demo starts, or <c>--mqtt</c>.</summary>
    Mqtt,
}

/// <summary>Which side(s) of the demo a process runs.</summary>
public enum DemoRole
{
    /// <summary>Both clusters in one process (the default).</summary>
    Both,

    /// <summary>Only the caller cluster ("shop"): runs the walkthrough against servers elsewhere.</summary>
    Client,

    /// <summary>Only the server cluster ("pricing"): serves until stopped.</summary>
    Server,
}
