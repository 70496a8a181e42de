using System;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// <c>./build.sh demo --transport mqtt</c>: the same quickstart (proxies, servers, HTTP edge, every
/// scene and check) over an MQTT 5 broker — a mosquitto the demo starts, or TYPEDRPC_MQTT — instead of Kafka.
/// </summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class QuickstartMqttDemoTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheQuickstartOverMqtt_RunsEveryScene_AndEveryCheckHolds()
    {
        var arguments = $"--transport mqtt --calls {QuickstartDemoRun.RoutingCalls}";
        if (Environment.GetEnvironmentVariable(MosquittoFixture.EnvironmentVariable) is { Length: > 0 } mqtt)
        {
            arguments += $" --mqtt {mqtt}";
        }

        if (Environment.GetEnvironmentVariable("TYPEDRPC_REDIS") is { Length: > 0 } redis)
        {
            arguments += $" --redis {redis}";
        }

        var (stdout, stderr, exitCode) = await QuickstartDemoRun.RunAsync(arguments);
        var text = stdout + stderr;
        output.WriteLine(text);
        Assert.True(exitCode == 0, $"the quickstart exited {exitCode}:\n{text}");
        Assert.Contains("MQTT   ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Kafka  ", text, StringComparison.Ordinal);
        Assert.Contains("Every check held.", text, StringComparison.Ordinal);
        Assert.Contains($"{QuickstartDemoRun.RoutingCalls}/{QuickstartDemoRun.RoutingCalls} calls", text, StringComparison.Ordinal);
        Assert.Contains("12/12 completed", text, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 202 Accepted", text, StringComparison.Ordinal);
        Assert.Contains("No warnings logged by the instances.", text, StringComparison.Ordinal);
    }
}
