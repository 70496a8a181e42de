using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// The README's two-process run: <c>--role server</c> starts the pricing cluster with its own embedded
/// Kafka and Redis and prints the client's command; that command, run as a second process, completes
/// the walkthrough against it.
/// </summary>
[Collection(Redis.RedisCollection.Name)]
public sealed partial class QuickstartTwoProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheServerRolePrintsAClientCommand_ThatRunsTheWalkthroughAgainstIt()
    {
        if (Environment.GetEnvironmentVariable("TYPEDRPC_KAFKA_BOOTSTRAP") is { Length: > 0 })
        {
            // Against real servers the roles are given their addresses; the embedded pair is what this checks.
            return;
        }

        var dll = Path.Combine(Repository.Root(), "samples", "Quickstart", "bin", Repository.Configuration, "net10.0", "Quickstart.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");
        using var server = Start($"\"{dll}\" --role server --duration 120");
        var serverError = server.StandardError.ReadToEndAsync();
        var serverOutput = new StringBuilder();
        string? command = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (command is null && DateTime.UtcNow < deadline)
        {
            var line = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (line is null)
            {
                break;
            }

            serverOutput.AppendLine(line);
            if (ClientCommand().Match(line) is { Success: true } match)
            {
                command = match.Groups["args"].Value.Trim();
            }
        }

        // Read on, so that the server never blocks on a full pipe.
        var serverRest = server.StandardOutput.ReadToEndAsync();
        try
        {
            Assert.True(command is not null, $"The server role printed no client command:\n{serverOutput}");
            var arguments = $"\"{dll}\" {command} --calls 10";
            output.WriteLine("client: dotnet " + arguments);
            using var client = Start(arguments);
            var clientOutput = client.StandardOutput.ReadToEndAsync();
            var clientError = client.StandardError.ReadToEndAsync();
            await client.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            var text = await clientOutput;
            output.WriteLine(text);
            Assert.True(client.ExitCode == 0, $"The client role exited {client.ExitCode}:\n{text}\n{await clientError}");
            Assert.Contains("Every check held.", text, StringComparison.Ordinal);
        }
        finally
        {
            // The server role owns its embedded Kafka and Redis: end the whole tree.
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            output.WriteLine("server:\n" + serverOutput + await serverRest + await serverError);
        }
    }

    private static Process Start(string arguments)
    {
        var info = new ProcessStartInfo("dotnet", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["NO_COLOR"] = "1";
        return Process.Start(info)!;
    }

    // The server role's line "./build.sh demo --role client --kafka … --redis …".
    [GeneratedRegex(@"\./build\.sh demo (?<args>--role client .+)$")]
    private static partial Regex ClientCommand();
}
