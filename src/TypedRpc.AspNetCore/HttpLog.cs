using Microsoft.Extensions.Logging;

namespace TypedRpc.AspNetCore;

/// <summary>The HTTP edge's log messages (event ids 3000–3099).</summary>
internal static partial class HttpLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Warning,
        Message = "TypedRpc:Http:ResultSigningKey is not set: result handles are signed with a key made for this process, so other instances cannot read them. Set a shared key (base64, 32 bytes or more) for a cluster.")]
    public static partial void GeneratedSigningKey(ILogger logger);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Result handle refused (malformed, forged or another caller's)")]
    public static partial void HandleRefused(ILogger logger);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Reading result {CorrelationId} failed: {Detail}")]
    public static partial void ResultReadFailed(ILogger logger, string correlationId, string detail);
}
