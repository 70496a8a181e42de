using System;
using Microsoft.Extensions.Logging;

namespace TypedRpc.Diagnostics;

/// <summary>Every log message of the engine, source-generated (no boxing, no formatting when disabled).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Reply {CorrelationId} found no waiter ({Reason}); stored it for later retrieval")]
    public static partial void UnmatchedReply(ILogger logger, CorrelationId correlationId, UnmatchedReason reason);

    [LoggerMessage(2, LogLevel.Debug, "Reply {CorrelationId} belongs to instance {Owner}; forwarded it through the store")]
    public static partial void ReplyForwarded(ILogger logger, CorrelationId correlationId, string owner);

    [LoggerMessage(3, LogLevel.Warning, "Handling an unmatched reply {CorrelationId} failed")]
    public static partial void UnmatchedReplyFailed(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(4, LogLevel.Warning, "The ownership store failed while checking for the result of {CorrelationId}")]
    public static partial void StoreCheckFailed(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(5, LogLevel.Warning, "Sending call {CorrelationId} to {Method} failed")]
    public static partial void SendFailed(ILogger logger, Exception exception, CorrelationId correlationId, string method);

    [LoggerMessage(6, LogLevel.Warning, "Could not record the owner of {CorrelationId}; sending without ownership as configured")]
    public static partial void OwnershipSkipped(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(10, LogLevel.Debug, "Request {CorrelationId} for {Method} arrived after its deadline; not executed")]
    public static partial void RequestExpired(ILogger logger, CorrelationId correlationId, string method);

    [LoggerMessage(11, LogLevel.Debug, "Request {CorrelationId} is already running on {Holder}; this delivery waits until it completes, or takes it over if that holder stops renewing its claim")]
    public static partial void DuplicateRunning(ILogger logger, CorrelationId correlationId, string? holder);

    [LoggerMessage(12, LogLevel.Debug, "Request {CorrelationId} already completed; re-sent its {Count} stored replies")]
    public static partial void DuplicateCompleted(ILogger logger, CorrelationId correlationId, int count);

    [LoggerMessage(13, LogLevel.Error, "Handler for {Method} failed on request {CorrelationId}")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string method, CorrelationId correlationId);

    [LoggerMessage(14, LogLevel.Warning, "Request {CorrelationId}: {Problem}; answered {Status}")]
    public static partial void BadRequest(ILogger logger, CorrelationId correlationId, string problem, RpcStatusCode status);

    [LoggerMessage(15, LogLevel.Warning, "Sending the reply of request {CorrelationId} failed")]
    public static partial void ReplyFailed(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(16, LogLevel.Warning, "The claim store failed for request {CorrelationId}; running it without dedupe")]
    public static partial void ClaimFailed(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(17, LogLevel.Information, "Serving {Service} on instance {InstanceId} (up to {Concurrency} requests at once)")]
    public static partial void ServerStarted(ILogger logger, string service, string instanceId, int concurrency);

    [LoggerMessage(18, LogLevel.Warning, "Stopping {Service}: {Running} requests still running after the drain timeout")]
    public static partial void DrainTimedOut(ILogger logger, string service, int running);

    [LoggerMessage(20, LogLevel.Information, "TypedRpc client {InstanceId} receives replies at {Address}")]
    public static partial void ClientStarted(ILogger logger, string instanceId, string address);

    [LoggerMessage(21, LogLevel.Information, "TypedRpc client {InstanceId} stopping; failing {Count} pending calls")]
    public static partial void ClientStopping(ILogger logger, string instanceId, int count);

    [LoggerMessage(22, LogLevel.Warning, "The unmatched-reply handler threw for {CorrelationId}")]
    public static partial void UnmatchedHandlerThrew(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(23, LogLevel.Information, "Request {CorrelationId}: the claim of {Holder}, which stopped renewing it, expired; this delivery took the request over")]
    public static partial void ClaimTakenOver(ILogger logger, CorrelationId correlationId, string? holder);

    [LoggerMessage(24, LogLevel.Warning, "Request {CorrelationId}: this instance lost its claim ({Holder}) while running it — another delivery holds it; the handler is cancelled and the request left to that delivery")]
    public static partial void ClaimLost(ILogger logger, CorrelationId correlationId, string holder);

    [LoggerMessage(25, LogLevel.Debug, "Renewing the claim of request {CorrelationId} failed; retried at the next interval")]
    public static partial void ClaimRenewFailed(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(26, LogLevel.Warning, "Request {CorrelationId} waited for another holder ({Holder}) until its deadline; not executed")]
    public static partial void DuplicateExpired(ILogger logger, CorrelationId correlationId, string? holder);

    [LoggerMessage(27, LogLevel.Warning, "TypedRpc client {InstanceId}: the ownership store is unreachable, so its wake-up channel is not subscribed yet; started anyway, retrying in the background")]
    public static partial void WakeUpsDeferred(ILogger logger, Exception exception, string instanceId);

    [LoggerMessage(28, LogLevel.Information, "TypedRpc client {InstanceId} subscribed to its wake-up channel")]
    public static partial void WakeUpsSubscribed(ILogger logger, string instanceId);

    [LoggerMessage(29, LogLevel.Warning, "Request {CorrelationId}: the claim of {Holder} could not be renewed for {Elapsed} and may expire; the handler is cancelled so that no other delivery runs alongside it, and the request is left to be delivered again")]
    public static partial void ClaimFenced(ILogger logger, CorrelationId correlationId, string holder, TimeSpan elapsed);

    [LoggerMessage(30, LogLevel.Warning, "Request {CorrelationId}: storing its result with the claim failed; the claim stays held (renewed) and completing it is retried")]
    public static partial void ClaimCompletionDeferred(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(31, LogLevel.Warning, "Request {CorrelationId}: gave up storing its result with the claim after {Elapsed}; a later delivery of it may run it again")]
    public static partial void ClaimCompletionAbandoned(ILogger logger, CorrelationId correlationId, TimeSpan elapsed);

    [LoggerMessage(32, LogLevel.Warning, "Stopping {Service}: {Running} handlers still run after being cancelled; their claims are no longer renewed")]
    public static partial void HandlersOutlivedStop(ILogger logger, string service, int running);

    [LoggerMessage(33, LogLevel.Warning, "Could not record the owner of {CorrelationId} while its request was sent; the call fails Unavailable")]
    public static partial void OwnerNotRecorded(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(34, LogLevel.Information, "TypedRpc client {InstanceId} stopping; waiting up to {DrainTimeout} for {Count} pending calls")]
    public static partial void ClientDraining(ILogger logger, string instanceId, int count, TimeSpan drainTimeout);

    [LoggerMessage(35, LogLevel.Information, "TypedRpc instance {InstanceId} is ready, {ElapsedMs} ms after its start began: the client can call and every server has its share of the requests")]
    public static partial void Ready(ILogger logger, string instanceId, double elapsedMs);

    [LoggerMessage(36, LogLevel.Warning, "TypedRpc instance {InstanceId} was not ready within {Timeout} (TypedRpc:ReadinessTimeout); its start returns anyway, still waiting for: {NotReady}")]
    public static partial void NotReadyInTime(ILogger logger, string instanceId, TimeSpan timeout, string notReady);

    [LoggerMessage(37, LogLevel.Debug, "Call {CorrelationId} ended before its server did; told the servers of {Service} to stop it")]
    public static partial void CancelSent(ILogger logger, CorrelationId correlationId, string service);

    [LoggerMessage(38, LogLevel.Debug, "Telling the servers to stop call {CorrelationId} failed; its handler stops at the request's deadline instead")]
    public static partial void CancelFailed(ILogger logger, Exception exception, CorrelationId correlationId);

    [LoggerMessage(39, LogLevel.Debug, "Request {CorrelationId} for {Method} was cancelled by its caller; the handler was cancelled, no reply is sent")]
    public static partial void CancelledByCaller(ILogger logger, CorrelationId correlationId, string method);

    [LoggerMessage(40, LogLevel.Debug, "Request {CorrelationId} for {Method} was cancelled by its caller before it ran; not executed")]
    public static partial void CancelledBeforeRun(ILogger logger, CorrelationId correlationId, string method);

    [LoggerMessage(41, LogLevel.Warning, "{Service}: could not subscribe to the cancellations of its requests (the ownership store is unreachable); retrying in the background — until then a cancelled call's handler runs until its deadline")]
    public static partial void CancellationsDeferred(ILogger logger, Exception exception, string service);

    [LoggerMessage(42, LogLevel.Debug, "Request {CorrelationId}: the handler answered {Status}: {Detail}")]
    public static partial void HandlerAnswered(ILogger logger, CorrelationId correlationId, RpcStatusCode status, string? detail);

    [LoggerMessage(43, LogLevel.Warning, "Request {CorrelationId}: the server stopped while its stream was running; answered Unavailable after {Items} items")]
    public static partial void StreamCutByStop(ILogger logger, CorrelationId correlationId, int items);

    [LoggerMessage(44, LogLevel.Information, "Request {CorrelationId} for {Method}: its idempotency key was already used for a different request; answered FailedPrecondition")]
    public static partial void IdempotencyConflict(ILogger logger, CorrelationId correlationId, string method);

    [LoggerMessage(45, LogLevel.Information, "Calls to {Service}: the servers' claims write the callers' owner records: {Recorded} (when true, a plain call no longer writes its own)")]
    public static partial void OwnerRecordingLearned(ILogger logger, string service, bool recorded);
}
