using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.DevServices;

/// <summary>
/// A server process a dev service owns (redis-server, mosquitto): found on PATH or in the system
/// directories a user's PATH often lacks, started with its output kept (bounded) for the errors a
/// failed start reports, and killed as a crash would end it.
/// </summary>
internal sealed class ServerProcess
{
    /// <summary>Where executables are looked for after the directories of <c>PATH</c>: Debian installs some in /usr/sbin.</summary>
    public static readonly string[] SystemDirectories = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process) => _process = process;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Its exit code, once it has exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>The first 8 KB of what it wrote to stdout and stderr, or "(no output)".</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.Length == 0 ? "(no output)" : _output.ToString().Trim();
            }
        }
    }

    /// <summary>Finds <paramref name="name"/> in the directories of <paramref name="pathVariable"/>, then in <paramref name="directories"/>; <see langword="null"/> when in none.</summary>
    public static string? Find(string name, string? pathVariable, IReadOnlyList<string> directories)
    {
        foreach (var directory in (pathVariable ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var directory in directories)
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Starts <paramref name="info"/> with its output redirected and kept.</summary>
    /// <exception cref="InvalidOperationException">The process did not start.</exception>
    public static ServerProcess Start(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start.");
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits for an exited process's last output lines to be read.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>Kills the process (as a crash would) and waits up to 10 s for it to exit; never throws for one already gone.</summary>
    public async Task KillAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // Already gone, or refusing to die: nothing more to do for a dev server.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 8_192)
            {
                _output.AppendLine(line);
            }
        }
    }
}
