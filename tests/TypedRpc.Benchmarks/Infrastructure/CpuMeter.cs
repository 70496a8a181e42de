using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading.Tasks;

namespace TypedRpc.Benchmarks.Infrastructure;

/// <summary>
/// CPU time used by everything a scenario runs: this process (clients, servers, the mock broker's
/// threads), the redis-server it started and, in the scenarios that have one, its mosquitto broker. On 2 shared cores CPU per call is the figure that
/// calls/s turns into, so it shows where a contender's cost is even when calls/s is noisy.
/// </summary>
public sealed class CpuMeter
{
    // Linux reports process times in clock ticks; USER_HZ is 100 on every kernel Debian ships.
    private const double TicksPerSecond = 100;

    private readonly int? _redisPid;
    private readonly int? _mosquittoPid;
    private double _idlePerSecond;

    /// <summary>
    /// Measures this process and, when they are found, the redis-server listening on
    /// <paramref name="redisPort"/> and the mosquitto listening on <paramref name="mosquittoPort"/>.
    /// </summary>
    public CpuMeter(int? redisPort, int? mosquittoPort = null)
    {
        _redisPid = redisPort is { } port ? FindRedisServer(port) : null;
        _mosquittoPid = mosquittoPort is { } mqtt ? FindMosquitto(mqtt) : null;
    }

    /// <summary>Whether the redis-server's CPU is counted too.</summary>
    public bool CountsRedis => _redisPid is not null;

    /// <summary>Whether the mosquitto broker's CPU is counted too.</summary>
    public bool CountsMosquitto => _mosquittoPid is not null;

    /// <summary>CPU seconds used so far by this process, the redis-server and the mosquitto broker.</summary>
    public double Now() => Own() + Redis() + (_mosquittoPid is { } pid ? ProcessSeconds(pid) : 0);

    /// <summary>CPU seconds used so far by this process.</summary>
    public static double Own()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>CPU seconds used so far by the redis-server (0 when it was not found).</summary>
    public double Redis() => _redisPid is { } pid ? ProcessSeconds(pid) : 0;

    /// <summary>Measures what the running instances cost while nobody calls (their clients poll the mock), per second of wall time.</summary>
    public async Task MeasureIdleAsync(TimeSpan duration)
    {
        var watch = Stopwatch.StartNew();
        var before = Now();
        await Task.Delay(duration).ConfigureAwait(false);
        _idlePerSecond = (Now() - before) / watch.Elapsed.TotalSeconds;
    }

    /// <summary>CPU seconds per second of wall time with no calls, from <see cref="MeasureIdleAsync"/>.</summary>
    public double IdlePerSecond => _idlePerSecond;

    private static double ProcessSeconds(int pid)
    {
        try
        {
            // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime is the 14th field, stime the 15th.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static int? FindRedisServer(int port)
    {
        var portText = port.ToString(CultureInfo.InvariantCulture);
        // redis-server retitles itself "redis-server 127.0.0.1:<port>"; before it does, the port is an argument.
        return FindProcess("redis-server", commandLine => Array.Exists(commandLine, a => a == portText || a.EndsWith(":" + portText, StringComparison.Ordinal)));
    }

    private static int? FindMosquitto(int port)
    {
        // LocalMosquitto runs "mosquitto -c <file>", the port in the file's "listener <port> <address>" line.
        var listener = "listener " + port.ToString(CultureInfo.InvariantCulture) + " ";
        return FindProcess("mosquitto", commandLine =>
        {
            var file = Array.IndexOf(commandLine, "-c") is var c and >= 0 && c + 1 < commandLine.Length ? commandLine[c + 1] : null;
            return file is not null && File.Exists(file) && File.ReadAllText(file).Contains(listener, StringComparison.Ordinal);
        });
    }

    private static int? FindProcess(string name, Func<string[], bool> matches)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(directory, "comm")).Trim() != name)
                {
                    continue;
                }

                if (matches(File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0', ' ')))
                {
                    return pid;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return null;
    }
}
