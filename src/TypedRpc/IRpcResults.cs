using System;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc;

/// <summary>
/// Fetches the result of a call by its correlation id — after a timeout (a Pending result or a
/// DeadlineExceeded exception carries the id), or from another instance. Needs an ownership store.
/// </summary>
public interface IRpcResults
{
    /// <summary>Returns the stored result now: Completed or Failed when it arrived, Pending when not yet.</summary>
    /// <typeparam name="T">The method's result type.</typeparam>
    /// <param name="correlationId">The call's correlation id.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException">The id is not a correlation id.</exception>
    /// <exception cref="RpcException">The store is unavailable (<see cref="RpcStatusCode.Unavailable"/>).</exception>
    ValueTask<RpcResult<T>> GetAsync<T>(string correlationId, CancellationToken cancellationToken = default);

    /// <summary>Waits up to <paramref name="timeout"/> for the result; Pending when it has not arrived by then.</summary>
    /// <typeparam name="T">The method's result type.</typeparam>
    /// <param name="correlationId">The call's correlation id.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException">The id is not a correlation id, or the timeout is negative.</exception>
    ValueTask<RpcResult<T>> WaitAsync<T>(string correlationId, TimeSpan timeout, CancellationToken cancellationToken = default);
}
