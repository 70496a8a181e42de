using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading.Tasks;

namespace TypedRpc.Benchmarks.Infrastructure;

/// <summary>
/// CPU time used by everything a scenario runs: this process (clients, servers, the mock broker's
/// threads) and the redis-server it started. On 2 shared cores CPU per call is the figure that
/// calls/s turns into, so it shows where a contender's cost is even when calls/s is noisy.
/// </summary>
public sealed class CpuMeter
{
    // Linux reports process times in clock ticks; USER_HZ is 100 on every kernel Debian ships.
    private const double TicksPerSecond = 100;

    private readonly int? _redisPid;
    private double _idlePerSecond;

    /// <summary>Measures this process and, when it is found, the redis-server listening on <paramref name="redisPort"/>.</summary>
    public CpuMeter(int? redisPort) => _redisPid = redisPort is { } port ? FindRedisServer(port) : null;

    /// <summary>Whether the redis-server's CPU is counted too.</summary>
    public bool CountsRedis => _redisPid is not null;

    /// <summary>CPU seconds used so far by this process and the redis-server.</summary>
    public double Now() => Own() + Redis();

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
                // redis-server retitles itself "redis-server 127.0.0.1:<port>"; before it does, the port is an argument.
                if (File.ReadAllText(Path.Combine(directory, "comm")).Trim() != "redis-server")
                {
                    continue;
                }

                var portText = port.ToString(CultureInfo.InvariantCulture);
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0', ' ');
                if (Array.Exists(commandLine, a => a == portText || a.EndsWith(":" + portText, StringComparison.Ordinal)))
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
