using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TypedRpc;
using TypedRpc.DevServices;

namespace AotService;

/// <summary>
/// Serves and calls <see cref="IInventoryService"/> in one process and checks a round trip, a
/// stream and an error status; prints the time from the process's start to the first completed
/// call and the working set. Options: <c>--transport memory|kafka|mqtt</c> (default memory);
/// with kafka, <c>--kafka host:port</c> for a real cluster (else an embedded mock cluster); with
/// mqtt, <c>--mqtt host:port</c> for a running MQTT 5 broker (else a mosquitto started on a free
/// port); with either, <c>--redis host:port</c> for a running Redis (else a redis-server started
/// on a free port). <c>--json-context none|partial</c> shows the start-up error a service gets
/// without its JSON context, or with one that lacks a contract type.
/// Exit code 0 when every check holds.
/// </summary>
public static class Program
{
    /// <summary>Runs the sample.</summary>
    /// <param name="args">The options.</param>
    /// <returns>0 when every check held, 1 when one failed, 2 for bad options.</returns>
    public static async Task<int> Main(string[] args)
    {
        var startedAt = Process.GetCurrentProcess().StartTime.ToUniversalTime();
        string transport = "memory", kafkaServers = "", mqttServer = "", redisServer = "", jsonContext = "full";
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--transport" when value is "memory" or "kafka" or "mqtt": transport = value; i++; break;
                case "--kafka" when value is not null: kafkaServers = value; i++; break;
                case "--mqtt" when value is not null: mqttServer = value; i++; break;
                case "--redis" when value is not null: redisServer = value; i++; break;
                case "--json-context" when value is "full" or "none" or "partial": jsonContext = value; i++; break;
                default:
                    Console.Error.WriteLine($"Unknown or incomplete option '{args[i]}'. Usage: AotService [--transport memory|kafka|mqtt] [--kafka host:port] [--mqtt host:port] [--redis host:port] [--json-context full|none|partial]");
                    return 2;
            }
        }

        // A JIT run is a managed .dll started by a host; a Native AOT run is the executable itself.
        var runtime = Environment.GetCommandLineArgs()[0].EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? "jit" : "aot";
        Console.WriteLine($"runtime={runtime} transport={transport}");
        EmbeddedKafka? kafka = null;
        LocalMosquitto? mosquitto = null;
        LocalRedisServer? redis = null;
        try
        {
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            var rpc = builder.Services.AddTypedRpc(o =>
                {
                    o.InstanceId = "aot-sample";
                    o.WaitForReadinessOnStart = true;
                })
                .AddServer<InventoryService>()
                .AddClient<IInventoryService>();
            if (jsonContext != "none")
            {
                rpc.UseJsonContext(jsonContext == "full" ? InventoryJsonContext.Default : StockOnlyJsonContext.Default);
            }

            if (transport == "memory")
            {
                rpc.UseInMemoryTransport().UseInMemoryOwnershipStore();
            }
            else
            {
                if (redisServer.Length == 0)
                {
                    redis = await LocalRedisServer.StartAsync();
                    redisServer = redis.Configuration;
                }

                rpc.AddRedis(o => o.Configuration = redisServer);
            }

            if (transport == "mqtt")
            {
                if (mqttServer.Length == 0)
                {
                    mosquitto = await LocalMosquitto.StartAsync();
                    mqttServer = $"{mosquitto.Host}:{mosquitto.Port}";
                }

                rpc.AddMqtt(o =>
                {
                    o.Server = mqttServer;
                    o.ClientGroup = "aot-sample";
                });
            }
            else if (transport == "kafka")
            {
                if (kafkaServers.Length == 0)
                {
                    kafka = new EmbeddedKafka(brokers: 1);
                    kafka.SetGroupInitialRebalanceDelay(TimeSpan.Zero);
                    kafka.CreateTopic("inventory.requests", 2);
                    kafka.CreateTopic("aot-sample.replies", 2);
                }

                rpc.AddKafka(o =>
                {
                    if (kafka is not null)
                    {
                        kafka.ConfigureTransport(o);
                    }
                    else
                    {
                        o.BootstrapServers = kafkaServers;
                    }

                    o.ClientGroup = "aot-sample";
                    o.RequestPartitions = 2;
                    o.ReplyPartitions = 2;
                });
            }

            using var host = builder.Build();
            try
            {
                await host.StartAsync();
            }
            catch (InvalidOperationException ex)
            {
                Console.WriteLine("start failed: " + ex.Message);
                return 1;
            }

            var ok = await CheckAsync(host.Services.GetRequiredService<IInventoryService>(), startedAt);
            await host.StopAsync();
            Console.WriteLine(ok ? "result: every check held" : "result: a check failed");
            return ok ? 0 : 1;
        }
        finally
        {
            kafka?.Dispose();
            if (mosquitto is not null)
            {
                await mosquitto.DisposeAsync();
            }

            if (redis is not null)
            {
                await redis.DisposeAsync();
            }
        }
    }

    private static async Task<bool> CheckAsync(IInventoryService inventory, DateTime startedAt)
    {
        var ok = true;

        // A round trip; the first completed call ends the start-up time.
        var stock = await inventory.GetStockAsync("sku-1");
        var firstCall = DateTime.UtcNow - startedAt;
        ok &= Report("round-trip", stock == new Stock("sku-1", 42), stock.ToString());
        var reservation = await inventory.ReserveAsync(new ReservationRequest("sku-2", 3));
        ok &= Report("round-trip-record", reservation is { Sku: "sku-2", Quantity: 3, Id.Length: 32 }, reservation.ToString());

        // A stream.
        var lines = new List<Stock>();
        await foreach (var line in inventory.ListAsync(5))
        {
            lines.Add(line);
        }

        ok &= Report("stream", lines.Count == 5 && lines[0] == new Stock("sku-1", 10) && lines[4] == new Stock("sku-5", 50), $"{lines.Count} items");

        // An error status, carried back to the caller.
        try
        {
            await inventory.ReserveAsync(new ReservationRequest("sku-404", 1));
            ok &= Report("error-status", false, "the call succeeded");
        }
        catch (RpcException ex)
        {
            ok &= Report("error-status", ex.StatusCode == RpcStatusCode.NotFound && ex.Status.Detail == "No SKU 'sku-404' with 1 available.", $"{ex.StatusCode}: {ex.Status.Detail}");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first-call-ms={firstCall.TotalMilliseconds:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"working-set-mb={Environment.WorkingSet / (1024.0 * 1024.0):F1}"));
        return ok;
    }

    private static bool Report(string check, bool held, string detail)
    {
        Console.WriteLine($"check {check}: {(held ? "ok" : "FAILED")} ({detail})");
        return held;
    }
}
