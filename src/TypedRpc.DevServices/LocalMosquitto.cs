using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.DevServices;

/// <summary>
/// A mosquitto MQTT broker process on a free loopback port, owned by this object: it runs with its own
/// configuration file in a temporary directory (anonymous clients, no persistence), is ready once it
/// answers an MQTT 5 CONNECT, and is stopped and its directory deleted on dispose. It can be stopped
/// and started again on the same port (to test broker outages).
/// </summary>
public sealed class LocalMosquitto : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _configFile;
    private ServerProcess? _process;
    private int _disposed;

    private LocalMosquitto(string executable, int port, Func<string, string>? moreListeners = null)
    {
        Executable = executable;
        Port = port;
        _directory = Directory.CreateTempSubdirectory("typedrpc-mosquitto-").FullName;
        _configFile = Path.Combine(_directory, "mosquitto.conf");
        // More listeners need their own settings (each its own authentication); the first listener's
        // follow its line, so they apply to it alone.
        File.WriteAllText(_configFile, moreListeners is null
            ? Configuration(port)
            : "per_listener_settings true\n" + Configuration(port) + moreListeners(_directory));
        if (moreListeners is not null && !OperatingSystem.IsWindows())
        {
            // Started as root, mosquitto reads its listeners' files (passwords, certificates) only
            // after dropping to its own user: they must be readable to it.
            File.SetUnixFileMode(_directory, (UnixFileMode)0b111_101_101);
            foreach (var file in Directory.EnumerateFiles(_directory))
            {
                File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
            }
        }
    }

    /// <summary>
    /// Starts mosquitto with more listeners after the usual one (which stays anonymous and plain, so
    /// readiness is probed the same way): <paramref name="moreListeners"/> gets the broker's directory
    /// and returns their configuration (tests of TLS and passwords).
    /// </summary>
    internal static Task<LocalMosquitto> StartWithListenersAsync(Func<string, string> moreListeners, CancellationToken cancellationToken = default) =>
        StartAsync(new LocalMosquitto(Locate(Environment.GetEnvironmentVariable("PATH"), ServerProcess.SystemDirectories), LoopbackPort.Free(), moreListeners), null, cancellationToken);

    /// <summary>The path of the mosquitto executable.</summary>
    public string Executable { get; }

    /// <summary>The address the broker listens on, <c>127.0.0.1</c>.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The loopback port.</summary>
    public int Port { get; }

    /// <summary>Whether the broker process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts mosquitto on a free loopback port and waits until it accepts an MQTT connection.</summary>
    /// <param name="timeout">How long to wait for it (default 10 s).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running broker.</returns>
    /// <exception cref="InvalidOperationException">mosquitto is not installed, or did not start.</exception>
    public static Task<LocalMosquitto> StartAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        StartAsync(Locate(Environment.GetEnvironmentVariable("PATH"), ServerProcess.SystemDirectories), timeout, cancellationToken);

    /// <summary>Starts the given executable as the broker (tests give it one that fails).</summary>
    internal static Task<LocalMosquitto> StartAsync(string executable, TimeSpan? timeout, CancellationToken cancellationToken) =>
        StartAsync(new LocalMosquitto(executable, LoopbackPort.Free()), timeout, cancellationToken);

    private static async Task<LocalMosquitto> StartAsync(LocalMosquitto broker, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        try
        {
            await broker.StartAgainAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await broker.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return broker;
    }

    /// <summary>Finds the mosquitto executable in the directories of <paramref name="pathVariable"/>, then in <paramref name="directories"/>.</summary>
    /// <exception cref="InvalidOperationException">It is in none of them.</exception>
    internal static string Locate(string? pathVariable, IReadOnlyList<string> directories) =>
        ServerProcess.Find("mosquitto", pathVariable, directories) ?? throw new InvalidOperationException(
            $"mosquitto was not found on PATH (nor in {string.Join(", ", directories)}); install it with: sudo apt-get install -y mosquitto");

    /// <summary>Starts the broker again on the same port after <see cref="StopAsync"/>, with no sessions or retained messages (it keeps nothing on disk).</summary>
    /// <param name="timeout">How long to wait for it to accept a connection (default 10 s).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when the broker accepts connections.</returns>
    /// <exception cref="InvalidOperationException">The broker exited or did not answer in time; the message carries its output.</exception>
    public async Task StartAgainAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (IsRunning)
        {
            return;
        }

        // A process that exited by itself (a failed start) is still held: release it first.
        await StopAsync().ConfigureAwait(false);
        var info = new ProcessStartInfo(Executable) { WorkingDirectory = _directory };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(_configFile);

        var process = ServerProcess.Start(info);
        _process = process;

        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                // The exit can come before the last lines of its output are read.
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
                throw new InvalidOperationException($"mosquitto ({Executable}) exited with code {process.ExitCode}: {process.Output}");
            }

            if (await ConnectsAsync(Port, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            if (DateTime.UtcNow > until)
            {
                await StopAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"mosquitto ({Executable}) on port {Port} did not accept an MQTT connection in time: {process.Output}");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the broker process (abruptly, as a crash would: clients get no DISCONNECT, and sessions are lost).</summary>
    /// <returns>A task that completes when the process has exited.</returns>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            await process.KillAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops the broker and deletes its temporary directory; calling it again does nothing.</summary>
    /// <returns>A task that completes when the process has exited and the directory is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover config file in the temp directory is harmless.
        }
    }

    /// <summary>The broker's configuration: everything not listed keeps mosquitto 2.0's default.</summary>
    private static string Configuration(int port) => string.Create(CultureInfo.InvariantCulture, $"""
        # Written by TypedRpc.DevServices.LocalMosquitto; deleted with the broker.
        listener {port} 127.0.0.1
        allow_anonymous true
        # Sessions, subscriptions and queued messages live in memory only: a restart loses them.
        persistence false
        # Errors and warnings only, on stderr, which LocalMosquitto reads and reports when the start fails.
        log_dest stderr
        log_type error
        log_type warning
        log_timestamp false
        connection_messages false
        # Replies and requests are small messages that should leave at once, not wait for Nagle's algorithm.
        set_tcp_nodelay true
        # Unacknowledged QoS 1 messages the broker sends a client that states no Receive Maximum (mosquitto's
        # default); an MQTT 5 client that states one gets that many instead, above 20 too (measured on 2.0.11).
        max_inflight_messages 20
        # Messages queued per client beyond those in flight, online or offline. The default, 1,000, drops
        # the rest silently: a shared subscription assigns each message to a member when it is published,
        # so a burst of requests to a busy server group would lose some. No limit here (0).
        max_queued_messages 0
        # No packet size limit (MQTT's own, 256 MB): the transport enforces its own message size, and a
        # broker limit would disconnect the client that exceeds it instead of failing the one call.

        """);

    /// <summary>
    /// An MQTT 5 CONNECT (clean start, no client id: the broker assigns one) answered by a successful
    /// CONNACK, then DISCONNECT. Raw bytes keep this package free of an MQTT client dependency.
    /// </summary>
    private static async Task<bool> ConnectsAsync(int port, CancellationToken cancellationToken)
    {
        // Fixed header (CONNECT, 13 bytes follow); "MQTT", protocol level 5, flags: clean start;
        // keep alive 60 s; no properties; an empty client id.
        ReadOnlyMemory<byte> connect = new byte[] { 0x10, 13, 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 5, 0x02, 0, 60, 0, 0, 0 };
        ReadOnlyMemory<byte> disconnect = new byte[] { 0xE0, 0 };
        try
        {
            using var client = new TcpClient();
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(500);
            await client.ConnectAsync(IPAddress.Loopback, port, cts.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync(connect, cts.Token).ConfigureAwait(false);

            // CONNACK: 0x20, remaining length (a variable-length integer), acknowledge flags, reason
            // code (0 = success), properties.
            var buffer = new byte[256];
            var read = 0;
            while (true)
            {
                var reasonAt = 1;
                while (reasonAt < read && (buffer[reasonAt] & 0x80) != 0)
                {
                    reasonAt++;
                }

                reasonAt += 2;
                if (read > reasonAt)
                {
                    if (buffer[0] != 0x20 || buffer[reasonAt] != 0)
                    {
                        return false;
                    }

                    break;
                }

                var n = await stream.ReadAsync(buffer.AsMemory(read), cts.Token).ConfigureAwait(false);
                if (n == 0 || (read += n) == buffer.Length)
                {
                    return false;
                }
            }

            await stream.WriteAsync(disconnect, cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }
}
