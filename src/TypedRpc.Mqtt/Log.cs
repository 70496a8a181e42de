using System;
using Microsoft.Extensions.Logging;

namespace TypedRpc.Mqtt;

/// <summary>The MQTT transport's log events (ids 400–419).</summary>
internal static partial class Log
{
    /// <summary>Requests a caller published again: unanswered, and no server was running them.</summary>
    public static readonly System.Diagnostics.Metrics.Counter<long> RepublishedCounter = TypedRpc.Diagnostics.RpcMetrics.Meter.CreateCounter<long>(
        "typedrpc.mqtt.republished", "{request}", "Requests published again because they were unanswered and no server was running them (MQTT: a member that went away keeps what the broker gave it).");

    [LoggerMessage(400, LogLevel.Warning, "Message on {Topic} cannot be used ({Reason}); dropped{DeadLettered}")]
    public static partial void Dropped(ILogger logger, string topic, string reason, string deadLettered);

    [LoggerMessage(401, LogLevel.Warning, "Handling request {CorrelationId} failed (attempt {Attempt} of {MaxAttempts})")]
    public static partial void DeliveryFailed(ILogger logger, Exception exception, object correlationId, int attempt, int maxAttempts);

    [LoggerMessage(402, LogLevel.Information, "MQTT client {ClientId} connected to {Server} (session {Session}, broker receive maximum {ReceiveMaximum})")]
    public static partial void Connected(ILogger logger, string clientId, string server, string session, int receiveMaximum);

    [LoggerMessage(403, LogLevel.Warning, "MQTT client {ClientId} lost its connection to {Server} ({Reason}); reconnecting")]
    public static partial void Disconnected(ILogger logger, Exception? exception, string clientId, string server, string reason);

    [LoggerMessage(404, LogLevel.Warning, "MQTT client {ClientId} could not reconnect to {Server} (attempt {Attempt}: {Reason}); retrying in {DelayMs} ms")]
    public static partial void ReconnectFailed(ILogger logger, string clientId, string server, int attempt, string reason, double delayMs);

    [LoggerMessage(405, LogLevel.Information, "Serving {Service}: subscribed to {Filter} (the server is ready)")]
    public static partial void Serving(ILogger logger, string service, string filter);

    [LoggerMessage(406, LogLevel.Information, "Instance {InstanceId} reads its replies from {Topic}")]
    public static partial void ReadingReplies(ILogger logger, string instanceId, string topic);

    [LoggerMessage(407, LogLevel.Warning, "Handling a reply {CorrelationId} failed")]
    public static partial void ReplyFailed(ILogger logger, Exception exception, object correlationId);

    [LoggerMessage(408, LogLevel.Debug, "Reply {CorrelationId} to {Topic}: nobody is subscribed (its caller is gone); the server's claim keeps it for the store's readers")]
    public static partial void ReplyUnrouted(ILogger logger, object correlationId, string topic);

    [LoggerMessage(409, LogLevel.Information, "Stopping {Service}: {Count} requests still running after {TimeoutMs} ms were handed to the other members")]
    public static partial void HandedOver(ILogger logger, string service, int count, double timeoutMs);

    [LoggerMessage(410, LogLevel.Information, "Stopping {Service}: request {CorrelationId} could not be handed to another member ({Reason}); it stays in this instance's session for its return, and its caller publishes it again until a server takes it")]
    public static partial void NotHandedOver(ILogger logger, string service, object correlationId, string reason);

    [LoggerMessage(411, LogLevel.Warning, "Copying a message to the dead-letter topic {Topic} failed: {Reason}")]
    public static partial void DeadLetterFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(412, LogLevel.Information, "Request {CorrelationId}: unanswered after {AfterMs} ms and no server is running it; published again to {Topic} (time {Count})")]
    public static partial void Republished(ILogger logger, object correlationId, string topic, double afterMs, int count);

    [LoggerMessage(413, LogLevel.Warning, "Request {CorrelationId}: looking up its claim failed ({Reason}); looked up again later")]
    public static partial void ClaimLookupFailed(ILogger logger, object correlationId, string reason);

    [LoggerMessage(414, LogLevel.Warning, "Request {CorrelationId}: publishing it again failed ({Reason}); tried again later")]
    public static partial void RepublishFailed(ILogger logger, object correlationId, string reason);
}
