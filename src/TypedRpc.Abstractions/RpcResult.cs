using System;
using System.Diagnostics.CodeAnalysis;

namespace TypedRpc;

/// <summary>
/// The outcome of a call whose method returns <c>Task&lt;RpcResult&lt;T&gt;&gt;</c>: instead of throwing on
/// a timeout, such a call returns <see cref="RpcResultState.Pending"/> with the correlation id
/// by which the result can be fetched later; failures are values too.
/// </summary>
/// <typeparam name="T">The type of the reply.</typeparam>
public readonly struct RpcResult<T> : IRpcResult
{
    // The status is kept as its two parts rather than an RpcStatus field: the struct packs into
    // 32 bytes instead of 40, and a Task<RpcResult<T>> holds one (a million of them wait at once in
    // the waiters benchmark).
    private readonly T _value;
    private readonly string? _detail;

    // The id as a string, or an object whose ToString() formats it when it is read (see PendingFor).
    private readonly object? _id;
    private readonly RpcStatusCode _code;

    private RpcResult(RpcResultState state, T value, RpcStatus status, object? correlationId)
    {
        State = state;
        _value = value;
        _code = status.StatusCode;
        _detail = status.Detail;
        _id = correlationId;
    }

    /// <summary>A completed result carrying <paramref name="value"/>.</summary>
    /// <param name="value">The reply.</param>
    /// <param name="correlationId">The correlation id of the call, if known.</param>
    public static RpcResult<T> Completed(T value, string? correlationId = null) =>
        new(RpcResultState.Completed, value, RpcStatus.Ok, correlationId);

    /// <summary>A pending result: the deadline passed, the reply may still come.</summary>
    /// <param name="correlationId">The correlation id to fetch the result by later.</param>
    /// <exception cref="ArgumentException"><paramref name="correlationId"/> is null or empty.</exception>
    public static RpcResult<T> Pending(string correlationId)
    {
        if (string.IsNullOrEmpty(correlationId))
        {
            throw new ArgumentException("A pending result needs the correlation id to fetch it by.", nameof(correlationId));
        }

        return new(RpcResultState.Pending, default!, PendingStatus, correlationId);
    }

    /// <summary>
    /// A pending result whose correlation id is formatted only when it is read: <paramref name="idSource"/>'s
    /// <see cref="object.ToString"/> returns it (the client's pending call, which outlives its deadline
    /// anyway). A deadline then allocates nothing that survives: an id string per deadline, referenced
    /// from a long-lived task, is what every collection would copy while a million deadlines come due
    /// (waiters benchmark).
    /// </summary>
    internal static RpcResult<T> PendingFor(object idSource) => new(RpcResultState.Pending, default!, PendingStatus, idSource);

    private static RpcStatus PendingStatus => new(RpcStatusCode.DeadlineExceeded, "The reply has not arrived yet.");

    /// <summary>A failed result.</summary>
    /// <param name="status">The status; must not be <see cref="RpcStatusCode.OK"/>.</param>
    /// <param name="correlationId">The correlation id of the call, if known.</param>
    /// <exception cref="ArgumentException"><paramref name="status"/> is OK.</exception>
    public static RpcResult<T> Failed(RpcStatus status, string? correlationId = null)
    {
        if (status.StatusCode == RpcStatusCode.OK)
        {
            throw new ArgumentException("A failed result needs a status other than OK.", nameof(status));
        }

        return new(RpcResultState.Failed, default!, status, correlationId);
    }

    /// <summary>Whether the result is completed, pending or failed.</summary>
    public RpcResultState State { get; }

    /// <summary><see langword="true"/> when the reply arrived with a value.</summary>
    public bool IsCompleted => State == RpcResultState.Completed;

    /// <summary><see langword="true"/> when the deadline passed and the reply may still come.</summary>
    public bool IsPending => State == RpcResultState.Pending;

    /// <summary><see langword="true"/> when the call failed.</summary>
    public bool IsFailed => State == RpcResultState.Failed;

    /// <summary>The status: OK when completed, DeadlineExceeded when pending, the failure otherwise.</summary>
    public RpcStatus Status => new(_code, _detail);

    /// <summary>The correlation id of the call, when known (always set for a pending result).</summary>
    public string? CorrelationId => _id as string ?? _id?.ToString();

    /// <summary>The reply.</summary>
    /// <exception cref="InvalidOperationException">The result is not completed.</exception>
    public T Value => State == RpcResultState.Completed
        ? _value
        : throw new InvalidOperationException($"The result is {State}, not Completed; check {nameof(State)} or use {nameof(TryGetValue)}.");

    /// <summary>Gets the reply when the result is completed.</summary>
    /// <param name="value">The reply, or default.</param>
    /// <returns><see langword="true"/> when the result is completed.</returns>
    public bool TryGetValue([MaybeNullWhen(false)] out T value)
    {
        value = _value;
        return State == RpcResultState.Completed;
    }

    /// <inheritdoc />
    object? IRpcResult.Value => State == RpcResultState.Completed ? _value : null;

    /// <inheritdoc />
    Type IRpcResult.ValueType => typeof(T);

    /// <summary>Returns the reply, or throws the <see cref="RpcException"/> a plain call would have thrown.</summary>
    /// <exception cref="RpcException">The result is pending or failed.</exception>
    public T GetValueOrThrow() => State == RpcResultState.Completed
        ? _value
        : throw new RpcException(Status, CorrelationId);

    /// <inheritdoc />
    public override string ToString() => State switch
    {
        RpcResultState.Completed => $"Completed({_value})",
        RpcResultState.Pending => $"Pending({CorrelationId})",
        _ => $"Failed({Status})",
    };
}

/// <summary>
/// An <see cref="RpcResult{T}"/> of any type, for code that handles results without knowing
/// <c>T</c> (the HTTP edge turns any of them into a response).
/// </summary>
public interface IRpcResult
{
    /// <summary>Whether the result is completed, pending or failed.</summary>
    RpcResultState State { get; }

    /// <summary>The status: OK when completed, DeadlineExceeded when pending, the failure otherwise.</summary>
    RpcStatus Status { get; }

    /// <summary>The correlation id of the call, when known (always set for a pending result).</summary>
    string? CorrelationId { get; }

    /// <summary>The reply when completed (boxed), otherwise <see langword="null"/>.</summary>
    object? Value { get; }

    /// <summary>The reply's declared type, <c>T</c>.</summary>
    Type ValueType { get; }
}
