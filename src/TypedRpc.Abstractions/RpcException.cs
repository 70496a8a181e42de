using System;

namespace TypedRpc;

/// <summary>
/// The exception a TypedRpc call throws when it does not complete with <see cref="RpcStatusCode.OK"/>.
/// A server handler may throw it to return a specific status to the caller.
/// </summary>
public class RpcException : Exception
{
    /// <summary>Creates the exception from a status.</summary>
    /// <param name="status">The status; its detail becomes the message.</param>
    public RpcException(RpcStatus status)
        : this(status, correlationId: null, innerException: null)
    {
    }

    /// <summary>Creates the exception from a status code and a detail.</summary>
    /// <param name="code">The status code.</param>
    /// <param name="detail">A human-readable explanation.</param>
    public RpcException(RpcStatusCode code, string detail)
        : this(new RpcStatus(code, detail), correlationId: null, innerException: null)
    {
    }

    /// <summary>Creates the exception from a status, the call's correlation id and a cause.</summary>
    /// <param name="status">The status.</param>
    /// <param name="correlationId">The correlation id of the call, when one was assigned.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public RpcException(RpcStatus status, string? correlationId, Exception? innerException = null)
        : base(FormatMessage(status, correlationId), innerException)
    {
        Status = status;
        CorrelationId = correlationId;
    }

    /// <summary>The status of the call.</summary>
    public RpcStatus Status { get; }

    /// <summary>The status code of the call.</summary>
    public RpcStatusCode StatusCode => Status.StatusCode;

    /// <summary>
    /// The correlation id of the call, or <see langword="null"/> when the call failed before one
    /// was assigned. After <see cref="RpcStatusCode.DeadlineExceeded"/> the reply may still arrive
    /// and can be fetched by this id.
    /// </summary>
    public string? CorrelationId { get; }

    private static string FormatMessage(RpcStatus status, string? correlationId)
    {
        var detail = status.Detail.Length == 0 ? status.StatusCode.ToString() : status.Detail;
        return correlationId is null
            ? $"{status.StatusCode}: {detail}"
            : $"{status.StatusCode}: {detail} (correlation id {correlationId})";
    }
}
