namespace TypedRpc.Client;

/// <summary>Where a call's send pipeline is; decides what an expiry of its timer means.</summary>
internal enum CallPhase : byte
{
    /// <summary>Registering the owner record: the timer bounds the store operation.</summary>
    RegisteringOwner,

    /// <summary>Handing the request to the transport, or waiting for the reply: the timer is the deadline.</summary>
    Waiting,
}
