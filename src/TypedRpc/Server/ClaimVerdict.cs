namespace TypedRpc.Server;

/// <summary>What a delivery's claim decided (see <see cref="ClaimKeeper.ClaimAsync"/>).</summary>
internal enum ClaimVerdict
{
    /// <summary>Run the request here, under <see cref="ClaimResult.Held"/> (claimed, or running without a claim as <see cref="StoreFailureMode.SendWithoutOwnership"/> allows).</summary>
    Run,

    /// <summary>Another holder runs it: wait without a concurrency slot, then ask again.</summary>
    Wait,

    /// <summary>Another holder runs it and the request has expired: that delivery answers; this one is done.</summary>
    LeftToHolder,

    /// <summary>It completed: re-send <see cref="ClaimResult.Replies"/>.</summary>
    Completed,

    /// <summary>Its caller cancelled it before it ran: not run, not answered.</summary>
    Cancelled,

    /// <summary>The id was claimed with another fingerprint (an idempotency key reused for another request).</summary>
    Conflict,

    /// <summary>Past its deadline and not run anywhere: answered as never run.</summary>
    Expired,

    /// <summary>The store failed and <see cref="StoreFailureMode.FailCall"/> is set: answered Unavailable.</summary>
    Unavailable,
}
