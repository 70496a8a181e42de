using System;
using TypedRpc.Transport;

namespace TypedRpc.Server;

/// <summary>How a delivery ends: acknowledged, waiting for another holder of its claim, or handed back to the transport.</summary>
/// <param name="Wait">Another holder runs the request: wait, then ask its claim again.</param>
/// <param name="HandedBack">
/// Thrown to the transport, which delivers the request again — or leaves it to the next member,
/// for an <see cref="RpcDeliveryAbandonedException"/>.
/// </param>
internal readonly record struct DeliveryEnd(bool Wait, Exception? HandedBack)
{
    /// <summary>Done: the transport acknowledges the request.</summary>
    public static DeliveryEnd Acknowledged => default;

    /// <summary>Another holder runs the request.</summary>
    public static DeliveryEnd WaitForHolder => new(true, null);

    /// <summary>Handed back to the transport with <paramref name="reason"/>.</summary>
    public static DeliveryEnd HandBack(Exception reason) => new(false, reason);
}
