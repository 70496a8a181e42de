using System;

namespace TypedRpc.Client;

/// <summary>
/// How long a call may take, on two clocks: <see cref="TimerWheel.NowMs"/> for its timer and unix
/// milliseconds for the deadline its request carries.
/// </summary>
internal static class CallBounds
{
    /// <summary>
    /// A unary call's deadline: <see cref="RpcCallOptions.Deadline"/>, else the first timeout set of
    /// the call's options, the method, its contract and <see cref="TypedRpcOptions.DefaultTimeout"/>.
    /// </summary>
    /// <exception cref="RpcException">The caller's deadline has already passed (DeadlineExceeded).</exception>
    public static (long DeadlineMs, long DeadlineUnixMs) Unary(RpcMethodDescriptor method, in RpcCallOptions options, TypedRpcOptions settings)
    {
        var nowUnix = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var timeoutMs = MillisecondsLeft(options, nowUnix) ?? TimeoutMs(method, options, settings);
        return (TimerWheel.NowMs + timeoutMs, nowUnix + timeoutMs);
    }

    /// <summary>
    /// A stream's bounds: the whole stream ends by <see cref="RpcCallOptions.Deadline"/> when the
    /// caller gives one, else <see cref="TypedRpcOptions.MaxStreamDuration"/> from now (this is the
    /// deadline its request carries); the first message must come within the method's timeout, and
    /// each later one within <see cref="TypedRpcOptions.StreamIdleTimeout"/> (default: the timeout).
    /// So a stream that keeps delivering is not cut by a timeout sized for unary calls.
    /// </summary>
    /// <exception cref="RpcException">The caller's deadline has already passed (DeadlineExceeded).</exception>
    public static (long DeadlineMs, long DeadlineUnixMs, long FirstDueMs, long IdleMs) Stream(RpcMethodDescriptor method, in RpcCallOptions options, TypedRpcOptions settings)
    {
        var nowUnix = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var now = TimerWheel.NowMs;
        var totalMs = MillisecondsLeft(options, nowUnix) ?? (long)settings.MaxStreamDuration.TotalMilliseconds;
        var timeoutMs = TimeoutMs(method, options, settings);
        var idleMs = settings.StreamIdleTimeout is { } idle ? (long)idle.TotalMilliseconds : timeoutMs;
        return (now + totalMs, nowUnix + totalMs, now + Math.Min(timeoutMs, totalMs), idleMs);
    }

    /// <summary>
    /// The deadline a cancelled call names to its server, or 0 when a cancel must not reach the
    /// server: a call with <see cref="RpcCallOptions.MaxWait"/> only bounds how long this caller
    /// waits (the HTTP edge's <c>Prefer: wait</c>, whose token is the HTTP request's), and its work
    /// keeps its deadline.
    /// </summary>
    public static long RemoteCancelDeadline(in RpcCallOptions options, long deadlineUnixMs) =>
        options.MaxWait is null ? deadlineUnixMs : 0;

    /// <summary>MaxWait: the caller stops waiting before the request's deadline (the call runs on).</summary>
    public static void LimitWait(UnaryCall call, in RpcCallOptions options)
    {
        if (options.MaxWait is { } maxWait && TimerWheel.NowMs + (long)maxWait.TotalMilliseconds < call.DeadlineMs)
        {
            call.WaitUntilMs = TimerWheel.NowMs + (long)maxWait.TotalMilliseconds;
        }
    }

    /// <summary>The time left before the caller's <see cref="RpcCallOptions.Deadline"/>, or <see langword="null"/> without one.</summary>
    private static long? MillisecondsLeft(in RpcCallOptions options, long nowUnix)
    {
        if (options.Deadline is not { } deadline)
        {
            return null;
        }

        var left = deadline.ToUnixTimeMilliseconds() - nowUnix;
        return left > 0 ? left : throw new RpcException(new RpcStatus(RpcStatusCode.DeadlineExceeded, "The call's deadline has already passed."), null);
    }

    private static long TimeoutMs(RpcMethodDescriptor method, in RpcCallOptions options, TypedRpcOptions settings) =>
        (long)(options.Timeout ?? method.Timeout ?? method.Service.DefaultTimeout ?? settings.DefaultTimeout).TotalMilliseconds;
}
