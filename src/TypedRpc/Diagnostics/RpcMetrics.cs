using System.Diagnostics.Metrics;
using System.Linq;

namespace TypedRpc.Diagnostics;

/// <summary>
/// The one <see cref="Meter"/> of TypedRpc, named <c>TypedRpc</c> — OpenTelemetry picks it up with
/// <c>AddMeter("TypedRpc")</c>. Transports add their instruments to the same meter.
/// </summary>
public static class RpcMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "TypedRpc";

    /// <summary>The meter; transports create their own instruments on it.</summary>
    public static readonly Meter Meter = new(MeterName, "1.0");

    /// <summary>Replies handed to a waiting call, by <c>route</c>: <c>direct</c> (read by the owner) or <c>forwarded</c> (read elsewhere, delivered through the store).</summary>
    internal static readonly Counter<long> RepliesDelivered = Meter.CreateCounter<long>("typedrpc.client.replies.delivered", "{reply}", "Replies handed to a waiting call, by route (direct or forwarded).");

    /// <summary>Replies this instance read for a call owned by another instance, stored and forwarded to the owner.</summary>
    internal static readonly Counter<long> RepliesForwarded = Meter.CreateCounter<long>("typedrpc.client.replies.forwarded", "{reply}", "Replies read here for another instance's call, forwarded through the store.");

    /// <summary>Replies with no waiter anywhere (late, or after a restart), stored to be fetched by id.</summary>
    internal static readonly Counter<long> RepliesStored = Meter.CreateCounter<long>("typedrpc.client.replies.stored", "{reply}", "Replies without a waiter, stored for retrieval by id, by reason (late: the owner's call had ended; unknown: no owner record).");

    /// <summary>Replies read under broadcast routing that belong to another instance and are left to it.</summary>
    internal static readonly Counter<long> RepliesIgnored = Meter.CreateCounter<long>("typedrpc.client.replies.ignored", "{reply}", "Broadcast routing: replies owned by another instance, left to it.");

    /// <summary>Idempotent calls that took over a call another instance owned (or found its result stored).</summary>
    internal static readonly Counter<long> Takeovers = Meter.CreateCounter<long>("typedrpc.client.takeovers", "{call}", "Idempotent calls that took over a call another instance owned.");

    /// <summary>Redelivered requests not run again, by <c>outcome</c>: <c>running</c> (skipped) or <c>completed</c> (stored reply re-sent).</summary>
    internal static readonly Counter<long> CancelsSent = Meter.CreateCounter<long>("typedrpc.client.cancels", "{call}", "Calls that ended on the caller before their server did (cancelled, a stream ended early), whose servers were told to stop.");

    internal static readonly Counter<long> ServerCancels = Meter.CreateCounter<long>("typedrpc.server.cancels", "{request}", "Requests whose caller cancelled them, by when (running: the handler was cancelled; before_run: the claim was refused).");

    internal static readonly Counter<long> ExpiredRequests = Meter.CreateCounter<long>("typedrpc.server.expired", "{request}", "Requests that reached a server after their deadline: not run, answered DeadlineExceeded.");

    internal static readonly Counter<long> DuplicatesSuppressed = Meter.CreateCounter<long>("typedrpc.server.duplicates_suppressed", "{request}", "Redelivered requests not run again, by outcome (running, completed).");

    /// <summary>Server claim events, by <c>event</c>: <c>taken_over</c> (a dead holder's expired claim taken by a redelivery) or <c>lost</c> (a running claim this instance could not renew).</summary>
    internal static readonly Counter<long> ClaimEvents = Meter.CreateCounter<long>("typedrpc.server.claims", "{claim}", "Server claim events, by event (taken_over, lost, fenced).");

    private static long s_pending;

    /// <summary>Calls ended on the caller, by <c>rpc.method</c> and <c>rpc.status</c>.</summary>
    internal static readonly Counter<long> ClientCalls = Meter.CreateCounter<long>("typedrpc.client.calls", "{call}", "Calls ended on the caller, by method and status.");

    /// <summary>Call latency on the caller, by <c>rpc.method</c> and <c>rpc.status</c>.</summary>
    internal static readonly Histogram<double> ClientDuration = Meter.CreateHistogram<double>("typedrpc.client.duration", "ms", "Call latency on the caller, by method and status.");

    /// <summary>Requests handled on the server, by <c>rpc.method</c> and <c>rpc.status</c>.</summary>
    internal static readonly Counter<long> ServerRequests = Meter.CreateCounter<long>("typedrpc.server.requests", "{request}", "Requests handled, by method and status.");

    /// <summary>Handling time on the server, by <c>rpc.method</c> and <c>rpc.status</c>.</summary>
    internal static readonly Histogram<double> ServerDuration = Meter.CreateHistogram<double>("typedrpc.server.duration", "ms", "Handling time on the server, by method and status.");

    /// <summary>Calls waiting for replies in this process.</summary>
    internal static readonly ObservableGauge<long> Pending = Meter.CreateObservableGauge("typedrpc.client.pending", () => System.Threading.Interlocked.Read(ref s_pending), "{call}", "Calls waiting for their replies in this process.");

    internal static void PendingChanged(long delta) => System.Threading.Interlocked.Add(ref s_pending, delta);

    internal static void RecordClient(RpcMethodDescriptor method, RpcStatusCode status, long startTimestamp) =>
        Record(ClientCalls, ClientDuration, method.FullName, status, startTimestamp);

    internal static void RecordServer(string method, RpcStatusCode status, long startTimestamp) =>
        Record(ServerRequests, ServerDuration, method, status, startTimestamp);

    private static void Record(Counter<long> count, Histogram<double> duration, string method, RpcStatusCode status, long startTimestamp)
    {
        // Nothing is built when nobody listens (the tags cost a boxed enum per call otherwise).
        if (!count.Enabled && !duration.Enabled)
        {
            return;
        }

        var tags = new System.Diagnostics.TagList { { "rpc.method", method }, { "rpc.status", StatusName(status) } };
        count.Add(1, tags);
        duration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds, tags);
    }

    // Indexed by code (the codes are small and dense, as gRPC's are).
    private static readonly string?[] s_statusNames = NameStatuses();

    /// <summary>The status's name without boxing it (enum ToString boxes); a code outside the enum is its number.</summary>
    private static string StatusName(RpcStatusCode status) =>
        (uint)status < (uint)s_statusNames.Length && s_statusNames[(int)status] is { } name ? name : status.ToString();

    private static string?[] NameStatuses()
    {
        var codes = System.Enum.GetValues<RpcStatusCode>();
        var names = new string?[(int)codes.Max() + 1];
        foreach (var code in codes)
        {
            names[(int)code] = code.ToString();
        }

        return names;
    }
}
