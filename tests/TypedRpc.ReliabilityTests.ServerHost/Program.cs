using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc;
using TypedRpc.Hosting;
using TypedRpc.Kafka;
using TypedRpc.ReliabilityTests.ServerHost;

// A reliability server instance in its own process. It prints "ready" once it holds request
// partitions and "fx <correlation id>" for each side effect, and runs until killed (or stdin closes).
var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    arguments[args[i].TrimStart('-')] = args[i + 1];
}

var settings = new ReliabilitySettings(
    arguments["bootstrap"], arguments["name"], arguments["redis"], arguments["namespace"],
    int.Parse(arguments["claim-ttl-ms"], CultureInfo.InvariantCulture),
    int.Parse(arguments["session-timeout-ms"], CultureInfo.InvariantCulture))
{
    // The test knobs, as the test process read them from its environment (ReliabilitySettings.ToArguments).
    ServerAssignment = arguments.GetValueOrDefault("server-assignment"),
    ReplyRouting = arguments.TryGetValue("reply-routing", out var routing) ? ReliabilitySettings.Routing(routing) : null,
    ReplyAssignment = arguments.GetValueOrDefault("reply-assignment"),
};
var instanceId = arguments["instance"];
var embedded = arguments["embedded"] == "1";

var services = new ServiceCollection();
services.AddSingleton<IEffectLog, StdoutEffectLog>();
services.AddTypedRpc(o =>
    {
        settings.Configure(o);
        o.InstanceId = instanceId;
    })
    .AddKafka(o => settings.Configure(o, embedded))
    .AddRedis(settings.Configure)
    .AddServer<ReliabilityService>();
await using var provider = services.BuildServiceProvider();
var runtime = provider.GetRequiredService<TypedRpcRuntime>();
await runtime.StartAsync(CancellationToken.None);
var transport = provider.GetRequiredService<KafkaRpcTransport>();
while (transport.AssignedRequestPartitions == 0)
{
    await Task.Delay(50);
}

StdoutEffectLog.WriteLine("ready");

// The test kills this process; reading stdin to its end is the fallback when the test itself dies.
await Task.Run(() => Console.In.ReadToEnd());
await runtime.StopAsync(CancellationToken.None);

/// <summary>Writes each side effect to stdout at once, so the test sees every one that happened before a kill.</summary>
internal sealed class StdoutEffectLog : IEffectLog
{
    private static readonly object s_lock = new();

    public void Record(string correlationId, string instanceId) => WriteLine("fx " + correlationId);

    public static void WriteLine(string line)
    {
        lock (s_lock)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
