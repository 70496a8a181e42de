using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;

namespace TypedRpc.IntegrationTests;

/// <summary>The in-process mock brokers' side of their connections, read from this process's descriptors (Linux).</summary>
internal static class BrokerSockets
{
    private const int IpProtoTcp = 6;
    private const int TcpNoDelay = 1;

    /// <summary>Every connected socket of this process whose local port is one of <paramref name="brokerPorts"/>, with its TCP_NODELAY.</summary>
    public static List<(int Descriptor, int Port, bool NoDelay)> Accepted(IReadOnlySet<int> brokerPorts)
    {
        var found = new List<(int, int, bool)>();
        foreach (var fd in Directory.EnumerateFiles("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed meanwhile
            }

            if (target is null || !target.StartsWith("socket:", StringComparison.Ordinal)
                || !int.TryParse(Path.GetFileName(fd), NumberStyles.None, CultureInfo.InvariantCulture, out var descriptor))
            {
                continue;
            }

            // A broker's listening socket has the same local port but no peer.
            if (LocalPort(descriptor) is { } port && brokerPorts.Contains(port) && HasPeer(descriptor))
            {
                var value = 0;
                var length = sizeof(int);
                if (getsockopt(descriptor, IpProtoTcp, TcpNoDelay, ref value, ref length) == 0)
                {
                    found.Add((descriptor, port, value != 0));
                }
            }
        }

        return found;
    }

    private static int? LocalPort(int descriptor)
    {
        // sockaddr_in and sockaddr_in6 both keep the port, big-endian, in bytes 2 and 3.
        var address = new byte[128];
        var length = address.Length;
        if (getsockname(descriptor, address, ref length) != 0 || length < 4)
        {
            return null;
        }

        var family = address[0] | (address[1] << 8);
        return family is 2 or 10 ? (address[2] << 8) | address[3] : null; // AF_INET, AF_INET6
    }

    private static bool HasPeer(int descriptor)
    {
        var address = new byte[128];
        var length = address.Length;
        return getpeername(descriptor, address, ref length) == 0;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getsockname(int socket, byte[] address, ref int length);

    [DllImport("libc", SetLastError = true)]
    private static extern int getpeername(int socket, byte[] address, ref int length);

    [DllImport("libc", SetLastError = true)]
    private static extern int getsockopt(int socket, int level, int option, ref int value, ref int length);
}
