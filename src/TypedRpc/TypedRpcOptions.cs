using System;

namespace TypedRpc;

/// <summary>
/// Settings of a TypedRpc instance, bound from the <c>TypedRpc</c> configuration section and
/// validated on start (each problem names the setting).
/// </summary>
public sealed class TypedRpcOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "TypedRpc";

    /// <summary>
    /// This instance's id: names its owner records and its wake-up channel, so it must be unique
    /// among live instances. Default: host name, process id and a random suffix.
    /// </summary>
    public string InstanceId { get; set; } = DefaultInstanceId();

    /// <summary>The timeout of methods without <see cref="RpcTimeoutAttribute"/> and without a call-level timeout. Default 30 s.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a stream may go without a message once its first message arrived. Default: the
    /// method's timeout (which bounds the wait for the first message).
    /// </summary>
    public TimeSpan? StreamIdleTimeout { get; set; }

    /// <summary>
    /// The longest a stream may run when its caller gives no deadline (<see cref="RpcCallOptions.Deadline"/>):
    /// the deadline a streaming request carries, at which the server ends it with DeadlineExceeded.
    /// The method's timeout bounds only the wait for the first message and, unless
    /// <see cref="StreamIdleTimeout"/> is set, each gap between messages — so a stream that keeps
    /// delivering is not cut at a timeout sized for unary calls. It also bounds how long a server
    /// keeps producing for a caller that died without cancelling. Default 10 minutes.
    /// </summary>
    public TimeSpan MaxStreamDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The most calls this client keeps in flight. Default 65,536.</summary>
    public int MaxPendingCalls { get; set; } = 65_536;

    /// <summary>What a call does when <see cref="MaxPendingCalls"/> are in flight. Default <see cref="PendingCallLimitMode.Wait"/>.</summary>
    public PendingCallLimitMode WhenPendingCallsFull { get; set; } = PendingCallLimitMode.Wait;

    /// <summary>
    /// Record each call's owner in the ownership store, so that a reply read by another instance
    /// is forwarded, and keep replies without a waiter there. Needs a store. Default on.
    /// </summary>
    public bool EnableOwnership { get; set; } = true;

    /// <summary>Claim each request in the ownership store before running it, so a redelivered request runs once. Needs a store. Default on.</summary>
    public bool EnableClaims { get; set; } = true;

    /// <summary>What a call does when the ownership store cannot record its owner. Default <see cref="StoreFailureMode.FailCall"/>.</summary>
    public StoreFailureMode WhenStoreUnavailable { get; set; } = StoreFailureMode.FailCall;

    /// <summary>
    /// The longest the engine waits for one ownership-store operation. Default 2 s. A store has its
    /// own bound per operation (<c>TypedRpc:Redis:OperationTimeout</c>), which must not be longer
    /// than this one (checked on start): otherwise the engine gives up first and an operation it
    /// abandoned may still take effect.
    /// </summary>
    public TimeSpan StoreOperationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a server's claim on a running request lasts without renewal. The running server
    /// renews its claims every third of this; if it dies, its claims expire within this time and
    /// a redelivered copy of the request takes it over (runs it). Must be at least three times
    /// <see cref="StoreOperationTimeout"/>, so that a renewal fails or succeeds well before the
    /// claim would expire. Shorter means faster recovery from a dead server; longer tolerates
    /// longer pauses (a paused server whose claim expired may find its request run elsewhere too).
    /// Default 10 s.
    /// </summary>
    public TimeSpan ClaimTimeToLive { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an owner record outlives the call's deadline (its extension included). Default 60 s.</summary>
    public TimeSpan OwnerGracePeriod { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long replies without a waiter, and servers' completed claims, are kept. Default 1 hour.</summary>
    public TimeSpan ResultTimeToLive { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How many requests one server runs at once, per contract. Default 64.</summary>
    public int MaxConcurrentRequests { get; set; } = 64;

    /// <summary>Send exception messages to callers. Default off: callers see a generic Internal status.</summary>
    public bool IncludeExceptionDetails { get; set; }

    /// <summary>How long a stopping server waits for running requests to finish, and a stopping client for the replies of its waiting calls. Default 10 s.</summary>
    public TimeSpan ShutdownDrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The most reply messages of one streaming call a server keeps for redelivered duplicates. Default 1,000.</summary>
    public int MaxCachedStreamReplies { get; set; } = 1_000;

    /// <summary>
    /// Make the host's start wait until this instance is ready (<see cref="IRpcReadiness"/>): every
    /// server has been assigned its share of the requests and the client is prepared to send — so
    /// that hosted services started after TypedRpc find it ready. At most
    /// <see cref="ReadinessTimeout"/>; then the start returns anyway, with a warning naming what is
    /// not ready. Default off: the start returns once every subscription is made.
    /// </summary>
    public bool WaitForReadinessOnStart { get; set; }

    /// <summary>How long the start waits for readiness when <see cref="WaitForReadinessOnStart"/> is on. Default 30 s.</summary>
    public TimeSpan ReadinessTimeout { get; set; } = TimeSpan.FromSeconds(30);

    private static string DefaultInstanceId()
    {
        var host = Environment.MachineName;
        var suffix = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
        return $"{host}-{Environment.ProcessId}-{suffix}";
    }
}

/// <summary>What a call does when the client's in-flight limit is reached.</summary>
public enum PendingCallLimitMode
{
    /// <summary>Wait for a slot, within the call's deadline (then ResourceExhausted).</summary>
    Wait,

    /// <summary>Fail at once with <see cref="RpcStatusCode.ResourceExhausted"/>.</summary>
    Fail,
}

/// <summary>What a call does when the ownership store cannot record its owner.</summary>
public enum StoreFailureMode
{
    /// <summary>Fail the call with <see cref="RpcStatusCode.Unavailable"/>: nothing is sent that could not be followed.</summary>
    FailCall,

    /// <summary>
    /// Send anyway. The reply still reaches this instance on its own reply address; what is lost is
    /// forwarding (if another instance reads the reply) and the stored result after a timeout.
    /// </summary>
    SendWithoutOwnership,
}
