using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.DevServices;

/// <summary>
/// A redis-server process on a free loopback port, owned by this object: started without
/// persistence (<c>--save "" --appendonly no</c>), ready once it answers PING, stopped on dispose.
/// It can be stopped and started again on the same port (to test outages).
/// </summary>
public sealed class LocalRedisServer : IAsyncDisposable
{
    private ServerProcess? _process;

    private LocalRedisServer(string executable, int port)
    {
        Executable = executable;
        Port = port;
    }

    /// <summary>The path of the redis-server executable.</summary>
    public string Executable { get; }

    /// <summary>The loopback port.</summary>
    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string, <c>127.0.0.1:port</c>.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Whether the server process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts redis-server on a free loopback port and waits until it answers PING.</summary>
    /// <param name="timeout">How long to wait for it (default 10 s).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="InvalidOperationException">redis-server is not installed, or did not start.</exception>
    public static async Task<LocalRedisServer> StartAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var executable = ServerProcess.Find("redis-server", Environment.GetEnvironmentVariable("PATH"), ServerProcess.SystemDirectories) ?? throw new InvalidOperationException(
            "redis-server was not found on PATH (nor in /usr/bin, /usr/sbin, /usr/local/bin); install it with: sudo apt-get install -y redis-server");
        var server = new LocalRedisServer(executable, LoopbackPort.Free());
        try
        {
            await server.StartAgainAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    /// <summary>Starts the server again on the same port after <see cref="StopAsync"/>.</summary>
    /// <param name="timeout">How long to wait for PING (default 10 s).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when the server answers.</returns>
    public async Task StartAgainAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            return;
        }

        var info = new ProcessStartInfo(Executable);
        foreach (var argument in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning", "--dir", Path.GetTempPath() })
        {
            info.ArgumentList.Add(argument);
        }

        var process = ServerProcess.Start(info);
        _process = process;

        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode}: {process.Output}");
            }

            if (await PingAsync(Port, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            if (DateTime.UtcNow > until)
            {
                throw new InvalidOperationException($"redis-server on port {Port} did not answer PING in time: {process.Output}");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the server process (abruptly, as a crash would).</summary>
    /// <returns>A task that completes when the process has exited.</returns>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            await process.KillAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private static async Task<bool> PingAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(500);
            await client.ConnectAsync(IPAddress.Loopback, port, cts.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cts.Token).ConfigureAwait(false);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }
}
