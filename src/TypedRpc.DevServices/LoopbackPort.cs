using System.Net;
using System.Net.Sockets;

namespace TypedRpc.DevServices;

/// <summary>Picks a loopback port nobody listens on now; a server binding it later may still lose a race for it.</summary>
internal static class LoopbackPort
{
    public static int Free()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
