namespace TypedRpc.Client;

/// <summary>The states of a waiting call, from registration to its one terminal outcome.</summary>
internal enum CallState
{
    /// <summary>Registered, nothing received yet. The deadline applies.</summary>
    WaitingFirst = 0,

    /// <summary>A stream received at least one message and waits for more. The idle timeout applies.</summary>
    WaitingNext = 1,

    /// <summary>The final message arrived (with any status the server sent).</summary>
    Completed = 2,

    /// <summary>The deadline (and any extension) passed first.</summary>
    TimedOut = 3,

    /// <summary>The caller cancelled.</summary>
    Cancelled = 4,

    /// <summary>The call failed locally: send or store error, undecodable reply, shutdown.</summary>
    Failed = 5,
}
