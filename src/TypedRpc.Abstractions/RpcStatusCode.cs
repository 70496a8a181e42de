namespace TypedRpc;

/// <summary>
/// The outcome of a call. Values and meanings follow gRPC's status codes so that operators
/// and tools that know one know the other.
/// </summary>
public enum RpcStatusCode
{
    /// <summary>The call completed successfully.</summary>
    OK = 0,
    /// <summary>The call was cancelled, usually by the caller.</summary>
    Cancelled = 1,
    /// <summary>An error that fits no other code.</summary>
    Unknown = 2,
    /// <summary>The request could not be decoded or its arguments are invalid.</summary>
    InvalidArgument = 3,
    /// <summary>The deadline passed before a reply arrived (the call may still complete later).</summary>
    DeadlineExceeded = 4,
    /// <summary>The service or method is unknown to the server, or a stored result was not found.</summary>
    NotFound = 5,
    /// <summary>The entity the call would create already exists.</summary>
    AlreadyExists = 6,
    /// <summary>The caller may not perform the call.</summary>
    PermissionDenied = 7,
    /// <summary>Too many calls in flight, or a message exceeds the size limit.</summary>
    ResourceExhausted = 8,
    /// <summary>The system is not in a state required for the call.</summary>
    FailedPrecondition = 9,
    /// <summary>The call was aborted, typically because of a concurrency conflict.</summary>
    Aborted = 10,
    /// <summary>An argument is outside the valid range.</summary>
    OutOfRange = 11,
    /// <summary>The server does not implement the method.</summary>
    Unimplemented = 12,
    /// <summary>The server failed while handling the call.</summary>
    Internal = 13,
    /// <summary>The broker or the ownership store is unreachable; the call may be retried.</summary>
    Unavailable = 14,
    /// <summary>A reply arrived that could not be decoded.</summary>
    DataLoss = 15,
    /// <summary>The caller is not authenticated.</summary>
    Unauthenticated = 16,
}
