using System;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using Garnet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TypedRpc.DevServices;

/// <summary>
/// A Redis-compatible server inside this process: Microsoft Garnet, serving the Redis protocol on a
/// free loopback port with Lua scripts enabled, so any Redis client (in this process or another) can
/// connect with <see cref="Configuration"/>. For demos and tests; it lives as long as this object,
/// and keeps nothing on disk.
/// </summary>
/// <remarks>
/// Garnet is not Redis, but TypedRpc's store passes the same tests on both. Use
/// <see cref="LocalRedisServer"/> where a test must stop and restart the server, or needs Redis
/// itself.
/// </remarks>
public sealed class EmbeddedRedis : IDisposable
{
    // Garnet binds port 0 to some free port but does not say which, so a free port is found by
    // binding port 0 here and letting it go, then given to Garnet; another process can take it in
    // between, so a bind refused as in use is retried on a new port.
    private const int StartAttempts = 5;

    private GarnetServer? _server;

    /// <summary>Starts Garnet on a free loopback port; it accepts connections when this returns.</summary>
    /// <param name="loggerFactory">Where Garnet logs (warnings and up are worth reading); none by default.</param>
    /// <exception cref="InvalidOperationException">Garnet could not start.</exception>
    public EmbeddedRedis(ILoggerFactory? loggerFactory = null)
        : this(loggerFactory, LoopbackPort.Free)
    {
    }

    /// <summary>Starts Garnet on a port <paramref name="choosePort"/> gives, asking again when it is taken (tests choose taken ones).</summary>
    internal EmbeddedRedis(ILoggerFactory? loggerFactory, Func<int> choosePort)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        Exception? inUse = null;
        for (var attempt = 0; attempt < StartAttempts; attempt++)
        {
            var port = choosePort();
            GarnetServer? server = null;
            try
            {
                server = Create(port, loggerFactory);
                server.Start();
                _server = server;
                Port = port;
                return;
            }
            catch (Exception ex) when (IsAddressInUse(ex))
            {
                server?.Dispose();
                inUse = ex;
            }
            catch (Exception ex)
            {
                server?.Dispose();
                throw new InvalidOperationException($"Garnet {GarnetVersion} could not start on 127.0.0.1:{port}: {ex.Message}", ex);
            }
        }

        throw new InvalidOperationException($"Garnet {GarnetVersion} could not start: {StartAttempts} free loopback ports in a row were taken before it could bind one.", inUse);
    }

    /// <summary>The loopback port Garnet listens on.</summary>
    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string, <c>127.0.0.1:port</c>.</summary>
    public string Configuration => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>The Garnet version in use, e.g. <c>2.2.12</c>.</summary>
    public static string GarnetVersion => typeof(GarnetServer).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    /// <summary>
    /// Stops the server and frees its memory; clients connected to it lose their connections. Safe to
    /// call more than once and from several threads at once.
    /// </summary>
    public void Dispose()
    {
        // A GarnetServer disposed twice aborts the process, so exactly one caller takes it.
        Interlocked.Exchange(ref _server, null)?.Dispose();
    }

    private static GarnetServer Create(int port, ILoggerFactory loggerFactory)
    {
        string[] arguments =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            // The store runs each atomic step as a script, and Garnet runs a script atomically
            // (locking its keys) only in transaction mode: without it two concurrent claims of one
            // request could both win.
            "--lua",
            "--lua-transaction-mode",
            // A 1 MB hash index and a 64 MB log of 1 MB pages: plenty for a demo's keys.
            "--index", "1m",
            "--memory", "64m",
            "--page", "1m",
            // No banner; the log goes to the logger factory given, or nowhere.
            "-q",
        ];

        // Garnet's constructor adds a console listener to the process-wide Trace.Listeners; the host
        // decides where its trace output goes, so that listener is taken out again.
        var listeners = new TraceListener[Trace.Listeners.Count];
        Trace.Listeners.CopyTo(listeners, 0);
        try
        {
            return new GarnetServer(arguments, loggerFactory);
        }
        finally
        {
            for (var i = Trace.Listeners.Count - 1; i >= 0; i--)
            {
                var listener = Trace.Listeners[i];
                if (listener is ConsoleTraceListener && Array.IndexOf(listeners, listener) < 0)
                {
                    Trace.Listeners.RemoveAt(i);
                }
            }
        }
    }

    private static bool IsAddressInUse(Exception ex)
    {
        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }
}
