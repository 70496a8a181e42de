using System;

namespace TypedRpc.Mqtt;

/// <summary>Settings of the MQTT 5 transport (configuration section <c>TypedRpc:Mqtt</c>), validated on start.</summary>
public sealed class MqttTransportOptions
{
    /// <summary>The configuration section the settings are read from.</summary>
    public const string SectionName = "TypedRpc:Mqtt";

    /// <summary>The broker, <c>host:port</c> (port 1883 when left out, 8883 with <see cref="UseTls"/>). Required.</summary>
    public string Server { get; set; } = string.Empty;

    /// <summary>The caller cluster's name: its instances' reply topics are made from it (<see cref="ReplyTopic"/>).</summary>
    public string ClientGroup { get; set; } = "default";

    /// <summary>
    /// The topic a method's requests are published to; <c>{service}</c> and <c>{method}</c> are
    /// replaced by the contract's service name and the method's wire name. Servers subscribe to
    /// the same pattern with <c>+</c> for the method.
    /// </summary>
    public string RequestTopic { get; set; } = "{service}/requests/{method}";

    /// <summary>
    /// A caller instance's reply topic; <c>{clientGroup}</c> and <c>{instanceId}</c> are replaced.
    /// Each instance subscribes to its own, so a reply reaches the waiting instance directly.
    /// </summary>
    public string ReplyTopic { get; set; } = "{clientGroup}/replies/{instanceId}";

    /// <summary>
    /// The shared subscription's group name is this prefix and the service name
    /// (<c>$share/{prefix}{service}/…</c>): the servers of one service share its requests.
    /// </summary>
    public string ServerGroupPrefix { get; set; } = "trpc.";

    /// <summary>The user name the broker authenticates, or <see langword="null"/> for none.</summary>
    public string? Username { get; set; }

    /// <summary>The password, with <see cref="Username"/>.</summary>
    public string? Password { get; set; }

    /// <summary>Whether to connect over TLS.</summary>
    public bool UseTls { get; set; }

    /// <summary>A PEM file of the certificate authority the broker's certificate must chain to (with <see cref="UseTls"/>); none: the system's trusted roots.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>A PEM file of this client's certificate, for brokers that authenticate clients by certificate (with <see cref="ClientKeyFile"/>).</summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary>The PEM file of the private key of <see cref="ClientCertificateFile"/>.</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>
    /// How long the broker keeps an instance's session (its subscriptions, its unacknowledged
    /// messages and what it queues for it) after the connection drops without a clean stop. An
    /// instance back within this time under the same <c>TypedRpc:InstanceId</c> gets all of it; but a
    /// server that never returns keeps its share of new requests until the session expires (callers
    /// publish them again after <see cref="RepublishUnclaimedAfter"/>, so they are late, not lost).
    /// Default 2 minutes: a restart's length, not much more.
    /// </summary>
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The MQTT keep-alive: the broker drops a connection silent for 1.5 times this.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a connection attempt may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest message sent or accepted, in bytes (topic, payload, correlation data and properties).</summary>
    public int MaxMessageBytes { get; set; } = 1_000_000;

    /// <summary>
    /// How many requests a server instance holds unacknowledged at once, per contract (MQTT 5
    /// Receive Maximum). The broker sends no more to it until one is acknowledged, and a shared
    /// subscription queues the next requests behind a member whose window is full rather than
    /// giving them to an idle one: keep it near <c>TypedRpc:MaxConcurrentRequests</c>. Default 64.
    /// </summary>
    public int ReceiveMaximum { get; set; } = 64;

    /// <summary>How many times a request whose handling failed (not its handler: the transport, e.g. the reply could not be sent) is retried before it is dead-lettered. Default 3.</summary>
    public int MaxDeliveryAttempts { get; set; } = 3;

    /// <summary>The topic undecodable or undeliverable messages are copied to, with the reason in the <c>trpc-dead-letter-reason</c> user property; <see langword="null"/> to only log them. Default none.</summary>
    public string? DeadLetterTopic { get; set; }

    /// <summary>
    /// How long a caller waits for the reply to a request before checking on it. A shared
    /// subscription never moves a request from a server instance that went away to another one:
    /// the broker keeps it — and that member's share of new requests — in the member's session until
    /// it returns or the session expires. So a request still unanswered after this long is looked up
    /// in the claim store and, unless a server is running it, published again (so a live member takes
    /// it), at this interval until its deadline; the claims keep it to one run, and a completed one is
    /// answered with its stored replies. Needs the servers' claims (<c>TypedRpc:EnableClaims</c>, on by
    /// default) and a claim store on the caller; <see langword="null"/> turns it off. Default 5 s.
    /// </summary>
    public TimeSpan? RepublishUnclaimedAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a stopping server waits for its running requests before it hands the rest to the
    /// other members (their claims make those wait until the handler here ends or is cut off at
    /// <c>TypedRpc:ShutdownDrainTimeout</c>). Default 10 s, as that drain.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
