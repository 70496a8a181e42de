using System;
using System.Collections.Generic;
using System.Threading;

namespace TypedRpc;

/// <summary>
/// Options for one call: a timeout or an absolute deadline, how long this caller waits, an
/// idempotency key, headers and a cancellation token. Immutable: the <c>With…</c> methods return a
/// changed copy.
/// </summary>
/// <remarks>
/// A contract method may take an <see cref="RpcCallOptions"/> parameter. A timeout or deadline
/// set here overrides the method's <see cref="RpcTimeoutAttribute"/>. Setting one clears the other.
/// </remarks>
public readonly struct RpcCallOptions
{
    /// <summary>Options with nothing set: the method's defaults apply.</summary>
    public static readonly RpcCallOptions Default;

    private RpcCallOptions(TimeSpan? timeout, DateTimeOffset? deadline, string? idempotencyKey,
        IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken, TimeSpan? maxWait)
    {
        MaxWait = maxWait;
        Timeout = timeout;
        Deadline = deadline;
        IdempotencyKey = idempotencyKey;
        Headers = headers;
        CancellationToken = cancellationToken;
    }

    /// <summary>How long to wait for the reply, measured from the start of the call; or <see langword="null"/>.</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>The absolute time by which the reply must arrive; or <see langword="null"/>.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>
    /// A key that identifies the logical operation. Calls with the same key share a correlation id,
    /// so a retry (from any instance) joins the original call instead of running it again.
    /// </summary>
    public string? IdempotencyKey { get; }

    /// <summary>Application headers sent with the request; or <see langword="null"/>.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; }

    /// <summary>Cancels the wait for the reply.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// How long this caller waits for the reply of a unary call, when shorter than its deadline; or
    /// <see langword="null"/> to wait until the deadline. The request still carries the full
    /// deadline, so the server runs it; when the wait ends first, an <see cref="RpcResult{T}"/>
    /// method returns Pending (others throw DeadlineExceeded) with the correlation id, and the
    /// reply is stored for <c>IRpcResults</c> when it arrives. Zero returns as soon as the request
    /// has been handed to the transport (HTTP's <c>Prefer: respond-async</c>). Streams ignore it.
    /// </summary>
    public TimeSpan? MaxWait { get; }

    /// <summary>Returns a copy that waits at most <paramref name="timeout"/> (and clears any deadline).</summary>
    /// <param name="timeout">Greater than zero and at most <see cref="int.MaxValue"/> milliseconds.</param>
    /// <exception cref="ArgumentOutOfRangeException">The timeout is not positive or too large.</exception>
    public RpcCallOptions WithTimeout(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero || timeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be greater than zero and at most int.MaxValue milliseconds.");
        }

        return new(timeout, null, IdempotencyKey, Headers, CancellationToken, MaxWait);
    }

    /// <summary>Returns a copy whose reply must arrive by <paramref name="deadline"/> (and clears any timeout).</summary>
    /// <param name="deadline">The absolute deadline.</param>
    public RpcCallOptions WithDeadline(DateTimeOffset deadline) =>
        new(null, deadline, IdempotencyKey, Headers, CancellationToken, MaxWait);

    /// <summary>Returns a copy with the idempotency key set.</summary>
    /// <param name="idempotencyKey">A non-empty key of at most 256 characters, or <see langword="null"/> to clear it.</param>
    /// <exception cref="ArgumentException">The key is empty or longer than 256 characters.</exception>
    public RpcCallOptions WithIdempotencyKey(string? idempotencyKey)
    {
        if (idempotencyKey is not null && (idempotencyKey.Length == 0 || idempotencyKey.Length > MaxIdempotencyKeyLength))
        {
            throw new ArgumentException($"An idempotency key must have 1 to {MaxIdempotencyKeyLength} characters.", nameof(idempotencyKey));
        }

        return new(Timeout, Deadline, idempotencyKey, Headers, CancellationToken, MaxWait);
    }

    /// <summary>Returns a copy with the application headers set.</summary>
    /// <param name="headers">The headers, or <see langword="null"/> to clear them. Names must be non-empty
    /// and must not start with the reserved prefix <c>trpc-</c>.</param>
    /// <exception cref="ArgumentException">A header name is empty or reserved.</exception>
    public RpcCallOptions WithHeaders(IReadOnlyDictionary<string, string>? headers)
    {
        if (headers is not null)
        {
            foreach (var header in headers)
            {
                if (string.IsNullOrEmpty(header.Key) || header.Key.StartsWith(ReservedHeaderPrefix, StringComparison.OrdinalIgnoreCase))
                {
                    throw new ArgumentException($"Header name '{header.Key}' is empty or uses the reserved prefix '{ReservedHeaderPrefix}'.", nameof(headers));
                }
            }
        }

        return new(Timeout, Deadline, IdempotencyKey, headers, CancellationToken, MaxWait);
    }

    /// <summary>Returns a copy with the cancellation token set.</summary>
    /// <param name="cancellationToken">Cancels the wait for the reply.</param>
    public RpcCallOptions WithCancellationToken(CancellationToken cancellationToken) =>
        new(Timeout, Deadline, IdempotencyKey, Headers, cancellationToken, MaxWait);

    /// <summary>Returns a copy in which this caller waits at most <paramref name="maxWait"/> for the reply (see <see cref="MaxWait"/>).</summary>
    /// <param name="maxWait">Zero or more, at most <see cref="int.MaxValue"/> milliseconds; <see langword="null"/> to wait until the deadline.</param>
    /// <exception cref="ArgumentOutOfRangeException">The wait is negative or too large.</exception>
    public RpcCallOptions WithMaxWait(TimeSpan? maxWait)
    {
        if (maxWait is { } wait && (wait < TimeSpan.Zero || wait.TotalMilliseconds > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(maxWait), maxWait, "The wait must be zero or more and at most int.MaxValue milliseconds.");
        }

        return new(Timeout, Deadline, IdempotencyKey, Headers, CancellationToken, maxWait);
    }

    /// <summary>The longest idempotency key accepted.</summary>
    public const int MaxIdempotencyKeyLength = 256;

    /// <summary>Header names with this prefix are reserved for TypedRpc's own headers.</summary>
    public const string ReservedHeaderPrefix = "trpc-";
}
