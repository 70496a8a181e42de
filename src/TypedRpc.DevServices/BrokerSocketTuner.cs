using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;

namespace TypedRpc.DevServices;

/// <summary>
/// Turns Nagle's algorithm off on the mock brokers' side of every connection, as a real broker does.
/// </summary>
/// <remarks>
/// librdkafka sets <c>TCP_NODELAY</c> on the sockets its clients open (<c>socket.nagle.disable</c>),
/// but its mock broker never sets it on the connections it accepts. With two responses queued on
/// one connection (a producer keeps up to five requests in flight), the second then waits for the
/// first to be acknowledged, and the client delays that acknowledgement by Linux's 40 ms minimum: a
/// run of calls stalls 40 ms — half of all calls under load in the throughput benchmark, for
/// TypedRpc and raw Confluent.Kafka alike. A real broker sets <c>TCP_NODELAY</c> on every accepted
/// connection (Kafka's <c>SocketServer</c>), so the mock is made to behave like one: every 50 ms a
/// timer looks at this process's sockets it has not seen yet (<c>/proc/self/fd</c>), and sets the
/// option on each connected one whose local port is a broker's. (Reading <c>/proc/net/tcp</c>
/// instead walks every connection of the machine — a quarter of the CPU in a profile.) Linux only;
/// elsewhere it does nothing.
/// </remarks>
internal sealed class BrokerSocketTuner : IDisposable
{
    private const int IpProtoTcp = 6;
    private const int TcpNoDelay = 1;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    private readonly HashSet<int> _ports;
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Timer? _timer;
    private int _scanning;
    private int _tuned;

    public BrokerSocketTuner(IEnumerable<int> brokerPorts)
    {
        _ports = new HashSet<int>(brokerPorts);
        if (OperatingSystem.IsLinux() && File.Exists("/proc/self/net/tcp"))
        {
            _timer = new Timer(static state => ((BrokerSocketTuner)state!).Scan(), this, TimeSpan.Zero, Interval);
        }
    }

    /// <summary>Connections tuned so far.</summary>
    public int Tuned => Volatile.Read(ref _tuned);

    public void Dispose() => _timer?.Dispose();

    private void Scan()
    {
        if (Interlocked.Exchange(ref _scanning, 1) == 1)
        {
            return;
        }

        try
        {
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

                // Each socket is looked at once (its inode names it for its whole life).
                if (target is null || !target.StartsWith("socket:", StringComparison.Ordinal) || !_seen.Add(target)
                    || !int.TryParse(Path.GetFileName(fd), NumberStyles.None, CultureInfo.InvariantCulture, out var descriptor))
                {
                    continue;
                }

                // The brokers' side of a connection: its local port is a broker's, and it has a peer
                // (the listening socket has the same local port but none).
                if (LocalPort(descriptor) is { } port && _ports.Contains(port) && HasPeer(descriptor))
                {
                    var on = 1;
                    if (setsockopt(descriptor, IpProtoTcp, TcpNoDelay, ref on, sizeof(int)) == 0)
                    {
                        Interlocked.Increment(ref _tuned);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // /proc changed under us; the next scan tries again.
        }
        finally
        {
            Volatile.Write(ref _scanning, 0);
        }
    }

    private static int? LocalPort(int descriptor)
    {
        // sockaddr_in and sockaddr_in6 both keep the port, big-endian, in bytes 2 and 3.
        var address = new byte[128];
        var length = 128;
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
        var length = 128;
        return getpeername(descriptor, address, ref length) == 0;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getsockname(int socket, byte[] address, ref int length);

    [DllImport("libc", SetLastError = true)]
    private static extern int getpeername(int socket, byte[] address, ref int length);

    [DllImport("libc", SetLastError = true)]
    private static extern int setsockopt(int socket, int level, int option, ref int value, int length);
}
