namespace TypedRpc.Server;

/// <summary>How a run that ended in an exception ended (see <see cref="RunEnding.Read"/>).</summary>
internal enum RunEnd
{
    /// <summary>The handler failed or chose a status: that is the call's answer, kept with the claim.</summary>
    Failed,

    /// <summary>Cut off at the caller's deadline: answered DeadlineExceeded, not kept with the claim, which is let go.</summary>
    CutAtDeadline,

    /// <summary>Its caller cancelled it: no reply, the claim let go.</summary>
    CancelledByCaller,

    /// <summary>Its claim could not be confirmed in time: no reply, the claim let go, the delivery handed back.</summary>
    Fenced,

    /// <summary>Another delivery took its claim: that one answers; this one is acknowledged.</summary>
    Lost,

    /// <summary>A stream cut off by shutdown after items went out: ended Unavailable, the claim let go.</summary>
    StreamCutByStop,

    /// <summary>Cut off by shutdown: left unacknowledged for another member.</summary>
    Stopped,

    /// <summary>A reply could not be handed to the transport: delivered again.</summary>
    SendFailed,
}
