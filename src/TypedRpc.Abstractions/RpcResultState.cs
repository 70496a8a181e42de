namespace TypedRpc;

/// <summary>The state of an <see cref="RpcResult{T}"/>.</summary>
public enum RpcResultState
{
    /// <summary>The reply arrived with a value.</summary>
    Completed = 0,

    /// <summary>
    /// No reply arrived before the deadline; the request may still be running. The result can be
    /// fetched later by its correlation id.
    /// </summary>
    Pending = 1,

    /// <summary>The call failed with a status other than OK.</summary>
    Failed = 2,
}
