using System;
using System.Threading;

namespace TypedRpc;

/// <summary>
/// Call options for the calls made within a scope, for contract methods that take no
/// <see cref="RpcCallOptions"/> parameter: an idempotency key, a timeout or deadline, a maximum
/// wait, headers or a cancellation token reach them this way.
/// </summary>
/// <remarks>
/// A scope flows with the asynchronous flow (an <see cref="AsyncLocal{T}"/>) until disposed; an
/// inner scope replaces the outer, and a call's own options win over both. An idempotency key names
/// one request (see <see cref="RpcIdempotency"/>): give each operation its own scope.
/// <code>
/// using (RpcCallContext.With(RpcCallOptions.Default.WithIdempotencyKey(orderId)))
/// {
///     await pricing.CancelOrderAsync(orderId);
/// }
/// </code>
/// </remarks>
public static class RpcCallContext
{
    private static readonly AsyncLocal<Holder?> s_current = new();

    // Set once a scope was ever opened: until then a call does not even read the AsyncLocal.
    private static volatile bool s_used;

    /// <summary>The options of the innermost scope around the caller, or <see langword="null"/>.</summary>
    public static RpcCallOptions? Current => s_used ? s_current.Value?.Options : null;

    /// <summary>Opens a scope whose calls use <paramref name="options"/> where their own leave a setting unset.</summary>
    /// <remarks>
    /// Unset means: no timeout and no deadline; no idempotency key; no headers; a token that cannot
    /// be cancelled; no maximum wait.
    /// </remarks>
    /// <param name="options">The options.</param>
    /// <returns>The scope; dispose it to end it (the scope around it, if any, applies again).</returns>
    public static IDisposable With(RpcCallOptions options)
    {
        s_used = true;
        var holder = new Holder(options, s_current.Value);
        s_current.Value = holder;
        return holder;
    }

    /// <summary>
    /// The options a call runs with: <paramref name="options"/>, with what they leave unset taken
    /// from the innermost scope, if any.
    /// </summary>
    /// <param name="options">The call's own options.</param>
    /// <returns>The merged options.</returns>
    public static RpcCallOptions Apply(in RpcCallOptions options)
    {
        if (!s_used || s_current.Value is not { } holder)
        {
            return options;
        }

        var ambient = holder.Options;
        var merged = options;
        if (merged.Timeout is null && merged.Deadline is null)
        {
            merged = ambient.Deadline is { } deadline ? merged.WithDeadline(deadline)
                : ambient.Timeout is { } timeout ? merged.WithTimeout(timeout)
                : merged;
        }

        if (merged.IdempotencyKey is null && ambient.IdempotencyKey is not null)
        {
            merged = merged.WithIdempotencyKey(ambient.IdempotencyKey);
        }

        if (merged.Headers is null && ambient.Headers is not null)
        {
            merged = merged.WithHeaders(ambient.Headers);
        }

        if (!merged.CancellationToken.CanBeCanceled && ambient.CancellationToken.CanBeCanceled)
        {
            merged = merged.WithCancellationToken(ambient.CancellationToken);
        }

        if (merged.MaxWait is null && ambient.MaxWait is not null)
        {
            merged = merged.WithMaxWait(ambient.MaxWait);
        }

        return merged;
    }

    private sealed class Holder(RpcCallOptions options, Holder? outer) : IDisposable
    {
        private bool _disposed;

        public RpcCallOptions Options { get; } = options;

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;

            // Disposed in the flow that opened it, the outer scope is current again. (Disposed
            // elsewhere, only that flow's view changes — as with any AsyncLocal.)
            if (ReferenceEquals(s_current.Value, this))
            {
                s_current.Value = outer;
            }
        }
    }
}
