using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.AotTests;

/// <summary>
/// samples/AotService published once with Native AOT for every test of the collection: its publish
/// log, and the native executable.
/// </summary>
public sealed class PublishedSample : IAsyncLifetime
{
    /// <summary>The repository's root (the folder with TypedRpc.sln).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The publish's exit code.</summary>
    public int PublishExitCode { get; private set; }

    /// <summary>What the publish printed (warnings and errors included).</summary>
    public string PublishLog { get; private set; } = string.Empty;

    /// <summary>The published native executable.</summary>
    public string Executable => Path.Combine(OutputDirectory, "AotService");

    /// <summary>Where the sample is published.</summary>
    public string OutputDirectory { get; } = Path.Combine(Root, ".artifacts", "aot-sample");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (Directory.Exists(OutputDirectory))
        {
            Directory.Delete(OutputDirectory, recursive: true);
        }

        // As a user publishes it; warnings are not turned into errors, so the log lists them all.
        var result = await PublishAsync(OutputDirectory);
        PublishExitCode = result.ExitCode;
        PublishLog = result.Output;
    }

    /// <summary>Publishes the sample with Native AOT into <paramref name="output"/>, with further MSBuild properties.</summary>
    public static Task<(int ExitCode, string Output)> PublishAsync(string output, params string[] properties)
    {
        // The native compiler skips an up-to-date object file, and with it its warnings: make it run.
        var native = Path.Combine(Root, "samples", "AotService", "obj", "Release", "net10.0", "linux-x64", "native");
        if (Directory.Exists(native))
        {
            Directory.Delete(native, recursive: true);
        }

        return RunAsync("dotnet",
            ["publish", Path.Combine(Root, "samples", "AotService", "AotService.csproj"), "-c", "Release", "-r", "linux-x64",
             "-o", output, "-nologo", "-p:TreatWarningsAsErrors=false", .. properties],
            TimeSpan.FromMinutes(10));
    }

    /// <inheritdoc />
    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Runs a program to its end (or kills it after <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string program, string[] arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The SDK's own build servers would outlive the test run.
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            lock (output)
            {
                output.AppendLine($"(killed after {timeout})");
            }

            return (-1, output.ToString());
        }

        process.WaitForExit(); // the output's last lines
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "TypedRpc.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("TypedRpc.sln was not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The tests that share one publish of the sample.</summary>
[CollectionDefinition(Name)]
public sealed class PublishedSampleCollection : ICollectionFixture<PublishedSample>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "published AOT sample";
}
