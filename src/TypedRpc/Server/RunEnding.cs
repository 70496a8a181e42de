using System;

namespace TypedRpc.Server;

/// <summary>Reads how a run ended from the exception it ended with: the one place such an exception becomes an outcome and a status.</summary>
internal static class RunEnding
{
    /// <summary>How the run ended; for <see cref="RunEnd.Failed"/> and <see cref="RunEnd.CutAtDeadline"/>, also the status the caller is answered with.</summary>
    /// <param name="failure">The exception the handler (or a send) ended the run with.</param>
    /// <param name="call">The call, with its claim and what it sent.</param>
    /// <param name="serverStopping">Whether the server is cutting its handlers off.</param>
    /// <param name="includeExceptionDetails">Whether an unexpected exception's type and message go to the caller.</param>
    /// <param name="status">The answer, for a failure; default otherwise.</param>
    public static RunEnd Read(Exception failure, ServerCall call, bool serverStopping, bool includeExceptionDetails, out RpcStatus status)
    {
        status = default;
        if (failure is TransportSendException)
        {
            return RunEnd.SendFailed;
        }

        var cancelled = IsCancellation(failure);
        if (cancelled && serverStopping)
        {
            // A stream some of whose items went out cannot be resumed by a redelivery.
            return call.SentCount > 0 && !call.Ended ? RunEnd.StreamCutByStop : RunEnd.Stopped;
        }

        var held = call.Claim;
        if (cancelled && !call.Ended && held is not null)
        {
            if (held.Fenced)
            {
                return held.Lost ? RunEnd.Lost : RunEnd.Fenced;
            }

            if (held.CancelledByCaller)
            {
                return RunEnd.CancelledByCaller;
            }
        }

        status = ToStatus(failure, call, includeExceptionDetails);
        return cancelled && !call.Ended && held is not null && status.StatusCode == RpcStatusCode.DeadlineExceeded
            ? RunEnd.CutAtDeadline
            : RunEnd.Failed;
    }

    /// <summary>The status a failed run answers with.</summary>
    public static RpcStatus ToStatus(Exception failure, ServerCall call, bool includeExceptionDetails)
    {
        var ex = failure is StreamFailedException { InnerException: { } inner } ? inner : failure;
        return ex switch
        {
            RpcException rpc => rpc.Status,
            OperationCanceledException when call.ServerContext.DeadlinePassed =>
                new RpcStatus(RpcStatusCode.DeadlineExceeded, "The handler did not finish before the caller's deadline."),
            _ => new RpcStatus(RpcStatusCode.Internal, includeExceptionDetails
                ? $"{ex.GetType().Name}: {ex.Message}"
                : "The server failed while handling the call."),
        };
    }

    private static bool IsCancellation(Exception ex) =>
        (ex is StreamFailedException { InnerException: { } inner } ? inner : ex) is OperationCanceledException;
}
