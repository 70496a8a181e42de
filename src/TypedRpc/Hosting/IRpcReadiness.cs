using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc;

/// <summary>
/// Whether TypedRpc on this instance has finished starting: the client can send and receive, and
/// every served contract has been assigned its share of the requests. Registered by
/// <c>AddTypedRpc</c>; await it, or report it through a health check (TypedRpc.AspNetCore:
/// <c>AddHealthChecks().AddTypedRpc()</c>).
/// </summary>
/// <remarks>
/// The host's start does not wait for it unless <see cref="TypedRpcOptions.WaitForReadinessOnStart"/>
/// is on; a call sent before a server is assigned waits for it. Readiness is reached once (a later
/// rebalance does not take it back) and ends when the host starts stopping.
/// </remarks>
public interface IRpcReadiness
{
    /// <summary>Whether start-up is complete and the host has not started stopping.</summary>
    bool IsReady { get; }

    /// <summary>
    /// What is not ready yet, one entry each — for example <c>server 'pricing': waiting for its
    /// share of the requests (partition assignment)</c>, or <c>TypedRpc has not started</c>; empty
    /// when ready.
    /// </summary>
    IReadOnlyList<string> NotReady { get; }

    /// <summary>Waits until start-up is complete.</summary>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>A task that completes when start-up is complete — at once if it already was, even if the host has started stopping since.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    /// <exception cref="InvalidOperationException">The start failed, or the host started stopping, before start-up was complete.</exception>
    Task WaitUntilReadyAsync(CancellationToken cancellationToken = default);
}
