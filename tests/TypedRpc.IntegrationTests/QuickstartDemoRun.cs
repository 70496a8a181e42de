using System;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// One run of the built quickstart with its output read through a pipe, as a CI log or
/// <c>./build.sh demo | tee</c> would read it, shared by the checks of <see cref="QuickstartDemoTests"/>.
/// The terminal type claims colours and no CI variable is set: that the output is not a terminal is
/// all the demo has to go by.
/// </summary>
public sealed class QuickstartDemoRun : IAsyncLifetime
{
    /// <summary>Routing calls in the run (fewer than the demo's 60, to keep it short).</summary>
    public const int RoutingCalls = 15;

    private static readonly string[] CiVariables = ["CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "BUILDKITE", "TEAMCITY_VERSION", "NO_COLOR"];

    /// <summary>Standard output.</summary>
    public string Output { get; private set; } = string.Empty;

    /// <summary>Standard error.</summary>
    public string Error { get; private set; } = string.Empty;

    /// <summary>The exit code.</summary>
    public int ExitCode { get; private set; }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var arguments = $"--calls {RoutingCalls}";
        if (Environment.GetEnvironmentVariable("TYPEDRPC_KAFKA_BOOTSTRAP") is { Length: > 0 } kafka)
        {
            arguments += $" --kafka {kafka}";
        }

        if (Environment.GetEnvironmentVariable("TYPEDRPC_REDIS") is { Length: > 0 } redis)
        {
            arguments += $" --redis {redis}";
        }

        (Output, Error, ExitCode) = await RunAsync(arguments);
    }

    /// <summary>Runs the built quickstart with <paramref name="arguments"/>, its output through pipes.</summary>
    public static async Task<(string Output, string Error, int ExitCode)> RunAsync(string arguments)
    {
        var dll = Path.Combine(Repository.Root(), "samples", "Quickstart", "bin", Repository.Configuration, "net10.0", "Quickstart.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");
        var info = new ProcessStartInfo("dotnet", $"\"{dll}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["TERM"] = "xterm-256color";
        foreach (var variable in CiVariables)
        {
            info.Environment.Remove(variable);
        }

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

        return (await stdout, await stderr, process.ExitCode);
    }

    /// <inheritdoc />
    public Task DisposeAsync() => Task.CompletedTask;
}
