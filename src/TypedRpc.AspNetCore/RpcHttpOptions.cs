using System;
using Microsoft.AspNetCore.Http;

namespace TypedRpc.AspNetCore;

/// <summary>Settings of the HTTP edge (<c>TypedRpc:Http</c>).</summary>
public sealed class RpcHttpOptions
{
    /// <summary>The configuration section, <c>TypedRpc:Http</c>.</summary>
    public const string SectionName = "TypedRpc:Http";

    /// <summary>Where results are polled: <c>GET {ResultsPath}/{handle}</c>. Default <c>/rpc-results</c>.</summary>
    public string ResultsPath { get; set; } = "/rpc-results";

    /// <summary>The longest wait a caller may ask for with <c>Prefer: wait=N</c>; longer asks are cut to it. Default 30 s.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a call waits without a <c>Prefer</c> header; <see langword="null"/> (default) waits until the call's deadline, bounded by <see cref="MaxWait"/>.</summary>
    public TimeSpan? DefaultWait { get; set; }

    /// <summary>The <c>Retry-After</c> sent with 202 Accepted. Default 1 s.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The key that signs result handles (base64, at least 32 bytes). Every instance that serves
    /// the same results must share it; without one a random key is made per process (a warning is
    /// logged), so a result can then only be read through the instance that started the call.
    /// </summary>
    public string? ResultSigningKey { get; set; }

    /// <summary>
    /// Binds results to a caller: the value returned for the request that starts a call is signed
    /// into its result handle, and a poll is answered only when it returns the same value (else 404).
    /// For example <c>http =&gt; http.User.Identity?.Name</c>. <see langword="null"/> (default): a
    /// handle is a bearer capability — whoever holds it may read the result.
    /// </summary>
    public Func<HttpContext, string?>? ResultOwner { get; set; }

    /// <summary>
    /// Send the detail of every status to HTTP callers. Default off: details of statuses an
    /// application sets on purpose (InvalidArgument, NotFound, FailedPrecondition…) are sent; those
    /// that may carry internals (Internal, Unknown, DataLoss, Unavailable, DeadlineExceeded,
    /// Unimplemented) get a generic text.
    /// </summary>
    public bool IncludeInternalDetails { get; set; }
}
