namespace TypedRpc.InMemory;

/// <summary>
/// Faults an <see cref="InMemoryRpcTransport"/> can be told to show, for tests of how servers
/// behave under at-least-once delivery. None is on by default.
/// </summary>
public sealed class InMemoryTransportFaults
{
    private volatile bool _duplicateEveryRequest;

    internal InMemoryTransportFaults()
    {
    }

    /// <summary>
    /// While <see langword="true"/>, every request sent is queued twice, so it is delivered twice
    /// (possibly to different members), as a redelivery after a consumer's crash would be.
    /// </summary>
    public bool DuplicateEveryRequest
    {
        get => _duplicateEveryRequest;
        set => _duplicateEveryRequest = value;
    }
}
