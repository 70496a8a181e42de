using System;
using Microsoft.Extensions.Logging;

namespace TypedRpc.Kafka;

internal static partial class Log
{
    /// <summary>Reply-partition lease events, by <c>event</c>: acquired, adopted, lost, released.</summary>
    public static readonly System.Diagnostics.Metrics.Counter<long> Leases = TypedRpc.Diagnostics.RpcMetrics.Meter.CreateCounter<long>(
        "typedrpc.kafka.leases", "{lease}", "Reply-partition lease events, by event (acquired, adopted, lost, released).");

    private static long s_held;

    /// <summary>Reply-partition leases this process holds now (own and adopted).</summary>
    public static readonly System.Diagnostics.Metrics.ObservableGauge<long> LeasesHeld = TypedRpc.Diagnostics.RpcMetrics.Meter.CreateObservableGauge(
        "typedrpc.kafka.leases.held", () => System.Threading.Interlocked.Read(ref s_held), "{lease}", "Reply-partition leases held by this process (own and adopted).");

    public static void LeaseEvent(string name)
    {
        Leases.Add(1, new System.Collections.Generic.KeyValuePair<string, object?>("event", name));
        System.Threading.Interlocked.Add(ref s_held, name is "acquired" or "adopted" ? 1 : -1);
    }

    [LoggerMessage(100, LogLevel.Warning, "Record {Topic}[{Partition}]@{Offset} cannot be used ({Reason}); dead-lettered")]
    public static partial void DeadLettered(ILogger logger, string topic, int partition, long offset, string reason);

    [LoggerMessage(101, LogLevel.Warning, "Handling request {CorrelationId} failed (attempt {Attempt} of {MaxAttempts})")]
    public static partial void DeliveryFailed(ILogger logger, Exception exception, CorrelationId correlationId, int attempt, int maxAttempts);

    [LoggerMessage(102, LogLevel.Warning, "Kafka consumer error on {Topic}: {Reason}")]
    public static partial void ConsumeError(ILogger logger, string topic, string reason);

    [LoggerMessage(103, LogLevel.Error, "Fatal Kafka consumer error on {Topic}: {Reason}; the consumer stops")]
    public static partial void FatalConsumeError(ILogger logger, string topic, string reason);

    [LoggerMessage(104, LogLevel.Warning, "Committing offsets on {Topic} failed: {Reason}")]
    public static partial void CommitFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(116, LogLevel.Debug, "Offsets on {Topic} not committed while the group rebalances ({Reason}); their records go to the next owner and are deduplicated there")]
    public static partial void CommitDuringRebalance(ILogger logger, string topic, string reason);

    [LoggerMessage(105, LogLevel.Warning, "Closing the Kafka consumer of {Topic} took longer than {TimeoutMs} ms; abandoned")]
    public static partial void CloseTimedOut(ILogger logger, string topic, double timeoutMs);

    [LoggerMessage(106, LogLevel.Information, "Consuming requests of {Service} from {Topic} in group {Group}")]
    public static partial void RequestConsumerStarted(ILogger logger, string service, string topic, string group);

    [LoggerMessage(107, LogLevel.Information, "Instance {InstanceId} reads replies from {Topic}[{Partition}] ({Mode})")]
    public static partial void ReplyPartitionChosen(ILogger logger, string instanceId, string topic, int partition, string mode);

    [LoggerMessage(108, LogLevel.Warning, "Instance {InstanceId} lost its lease on {Topic}[{Partition}]; moving to another partition")]
    public static partial void LeaseLost(ILogger logger, string instanceId, string topic, int partition);

    [LoggerMessage(109, LogLevel.Warning, "Renewing the lease on {Topic}[{Partition}] failed; will retry")]
    public static partial void LeaseRenewFailed(ILogger logger, Exception exception, string topic, int partition);

    [LoggerMessage(110, LogLevel.Debug, "Creating topic {Topic} failed ({Reason}); it must exist or be auto-created")]
    public static partial void TopicCreateFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(111, LogLevel.Warning, "Handling a reply {CorrelationId} failed")]
    public static partial void ReplyHandlerFailed(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(112, LogLevel.Warning, "Partitions assigned/revoked handler failed on {Topic}")]
    public static partial void RebalanceHandlerFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(113, LogLevel.Information, "Instance {InstanceId} adopted {Topic}[{Partition}] ({Unread} unread replies of an instance that is gone); forwarding what it reads")]
    public static partial void PartitionAdopted(ILogger logger, string instanceId, string topic, int partition, long unread);

    [LoggerMessage(114, LogLevel.Information, "Instance {InstanceId} let go of adopted {Topic}[{Partition}]")]
    public static partial void PartitionReleased(ILogger logger, string instanceId, string topic, int partition);

    [LoggerMessage(117, LogLevel.Information, "The Kafka producer has the metadata of {Topics} ({ElapsedMs} ms): first sends to them go out at once")]
    public static partial void MetadataFetched(ILogger logger, string topics, double elapsedMs);

    [LoggerMessage(118, LogLevel.Warning, "No metadata for topic {Topic} ({Reason}): it does not exist yet, or the broker did not answer within {TimeoutMs} ms; sends to it wait until librdkafka finds it (it looks again every second)")]
    public static partial void MetadataMissing(ILogger logger, string topic, string reason, double timeoutMs);

    [LoggerMessage(119, LogLevel.Information, "Serving {Service}: group {Group} assigned this member {Count} partitions of {Topic} (its first assignment; the server is ready)")]
    public static partial void FirstAssignment(ILogger logger, string service, string group, int count, string topic);

    [LoggerMessage(120, LogLevel.Information, "Kafka clients use librdkafka {Version} from {Source}")]
    public static partial void NativeLibrary(ILogger logger, string version, string source);

    // librdkafka's own log lines (connection state, group membership; more with the `debug`
    // setting, e.g. "cgrp,eos"), all at Debug: they are for diagnosing the client, and a broker
    // restart alone writes dozens of them.
    [LoggerMessage(115, LogLevel.Debug, "librdkafka {Client} {Facility}: {Message}")]
    public static partial void Librdkafka(ILogger logger, string client, string facility, string message);
}
