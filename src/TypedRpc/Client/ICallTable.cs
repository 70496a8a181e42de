using TypedRpc.Serialization;

namespace TypedRpc.Client;

/// <summary>
/// What a waiting call asks of the table it waits in: to be released when it ends, re-timed or
/// expired by the timing wheel, its server told when it ends first, and its reply decoded.
/// <see cref="CallTable"/> is the one (sealed) implementation.
/// </summary>
internal interface ICallTable
{
    /// <summary>Decodes the replies of the calls in this table.</summary>
    IRpcSerializer Serializer { get; }

    /// <summary>Gives back what <paramref name="call"/> held: its table entry, its timer and its in-flight slot. Called once, when it ends.</summary>
    void Release(PendingCall call);

    /// <summary>Moves <paramref name="call"/>'s timer to <paramref name="dueMs"/> (<see cref="TimerWheel.NowMs"/> clock).</summary>
    void Rearm(PendingCall call, long dueMs);

    /// <summary>Called on the wheel thread when <paramref name="call"/>'s timer fires.</summary>
    void OnExpired(PendingCall call);

    /// <summary>Tells the servers that <paramref name="call"/> ended here first, so its handler stops (best effort).</summary>
    void CancelRemotely(PendingCall call, long requestDeadlineUnixMs);
}
