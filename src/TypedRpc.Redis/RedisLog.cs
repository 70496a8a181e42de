using System;
using Microsoft.Extensions.Logging;

namespace TypedRpc.Redis;

/// <summary>Every log message of the Redis store, source-generated.</summary>
internal static partial class RedisLog
{
    [LoggerMessage(200, LogLevel.Warning, "Redis connection to {EndPoint} ({ConnectionType}) failed: {FailureType}; StackExchange.Redis reconnects on its own")]
    public static partial void ConnectionFailed(ILogger logger, Exception? exception, string endPoint, string connectionType, string failureType);

    [LoggerMessage(201, LogLevel.Information, "Redis connection to {EndPoint} ({ConnectionType}) restored")]
    public static partial void ConnectionRestored(ILogger logger, string endPoint, string connectionType);

    [LoggerMessage(202, LogLevel.Warning, "A wake-up callback for instance {InstanceId} threw; callbacks must not throw, the exception is ignored")]
    public static partial void WakeUpCallbackFailed(ILogger logger, Exception exception, string instanceId);

    [LoggerMessage(203, LogLevel.Debug, "Ignored a malformed wake-up on channel {Channel}")]
    public static partial void MalformedWakeUp(ILogger logger, string channel);

    [LoggerMessage(204, LogLevel.Debug, "Unsubscribing from {Channel} on Redis failed; the local handler is removed regardless")]
    public static partial void UnsubscribeFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(205, LogLevel.Debug, "Closing the Redis connection did not finish cleanly")]
    public static partial void CloseFailed(ILogger logger, Exception exception);
}
