using System;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// The README's <c>./build.sh demo</c> stays working: the built quickstart runs end to end (both
/// clusters on its own embedded Kafka and redis-server, or on TYPEDRPC_KAFKA_BOOTSTRAP /
/// TYPEDRPC_REDIS) with fewer routing calls, and its own checks must all hold.
/// </summary>
// In the infrastructure collection only to run alone: the demo starts its own Kafka and Redis, and
// its scenes have wall-clock waits that the other collections' load would stretch.
[Collection(Redis.RedisCollection.Name)]
public sealed class QuickstartDemoTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheQuickstartRunsEveryScene_AndEveryCheckHolds()
    {
        var configuration = Repository.Configuration;
        var dll = Path.Combine(Repository.Root(), "samples", "Quickstart", "bin", configuration, "net10.0", "Quickstart.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");

        var arguments = $"\"{dll}\" --calls 15";
        if (Environment.GetEnvironmentVariable("TYPEDRPC_KAFKA_BOOTSTRAP") is { Length: > 0 } kafka)
        {
            arguments += $" --kafka {kafka}";
        }

        if (Environment.GetEnvironmentVariable("TYPEDRPC_REDIS") is { Length: > 0 } redis)
        {
            arguments += $" --redis {redis}";
        }

        var info = new ProcessStartInfo("dotnet", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["TERM"] = "dumb";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var text = await stdout + await stderr;
        output.WriteLine(text);
        Assert.True(process.ExitCode == 0, $"the quickstart exited {process.ExitCode}:\n{text}");
        Assert.Contains("Every check held.", text, StringComparison.Ordinal);
        Assert.Contains("15/15 calls", text, StringComparison.Ordinal);
        Assert.Contains("12/12 completed", text, StringComparison.Ordinal);
        Assert.Contains("calls taken over by another instance", text, StringComparison.Ordinal);
        // The HTTP edge's exchanges: answered, accepted then fetched, timed out with a result location.
        Assert.Contains("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 202 Accepted", text, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 504 Gateway Timeout", text, StringComparison.Ordinal);
    }
}
