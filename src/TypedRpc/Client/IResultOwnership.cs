using System;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.Client;

/// <summary>
/// What <see cref="RpcResults.WaitAsync{T}"/> needs of the client: to be started (so it has a
/// reply address), to be recorded as the owner of the id it waits for (so a reply read by another
/// instance is forwarded here), and to hear when that reply may have arrived.
/// </summary>
internal interface IResultOwnership
{
    /// <summary>Starts the client if it is not yet (see <see cref="RpcClient.StartAsync"/>).</summary>
    /// <exception cref="RpcException">It cannot start (Unavailable), or it is stopping.</exception>
    ValueTask EnsureStartedAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Records this instance as <paramref name="id"/>'s owner for <paramref name="waited"/> (plus
    /// the grace period), bounded by the store timeout; a failure is thrown as the store (or the
    /// timeout) raised it.
    /// </summary>
    ValueTask TakeOverAsync(CorrelationId id, TimeSpan waited, CancellationToken cancellationToken);

    /// <summary>The signals for the ids waited for.</summary>
    ResultWatchers Watchers { get; }
}
