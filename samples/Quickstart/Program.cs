using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using TypedRpc.DevServices;
using TypedRpc.Kafka;

namespace Quickstart;

/// <summary>The quickstart: two clusters of the pricing contract over Kafka and Redis.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the chosen role.</summary>
    public static async Task<int> Main(string[] args)
    {
        var kafka = new Option<string?>("--kafka")
        {
            Description = "Kafka bootstrap servers (host:port[,host:port]). Default: an embedded Kafka mock cluster in this process (librdkafka's, real Kafka protocol on loopback).",
            HelpName = "host:port",
        };
        var kafkaMock = new Option<bool>("--kafka-mock")
        {
            Description = "The --kafka servers are an embedded mock cluster another quickstart process started (--role server prints this): use the client settings the mock needs.",
        };
        var transport = new Option<DemoTransport>("--transport")
        {
            Description = "The transport between the clusters: kafka (default) or mqtt (an MQTT 5 broker; the same proxies and servers, only AddMqtt instead of AddKafka).",
            DefaultValueFactory = _ => DemoTransport.Kafka,
        };
        var mqtt = new Option<string?>("--mqtt")
        {
            Description = "With --transport mqtt: the MQTT 5 broker (host:port). Default: a mosquitto started by the demo on a free loopback port (./build.sh demo installs Debian's mosquitto when it is missing).",
            HelpName = "host:port",
        };
        var redis = new Option<string?>("--redis")
        {
            Description = "Redis (host:port, or a StackExchange.Redis configuration string). Default: an embedded Redis-compatible server in this process (Microsoft Garnet, Redis protocol on a free loopback port).",
            HelpName = "host:port",
        };
        var role = new Option<DemoRole>("--role")
        {
            Description = "both: client and server clusters in this process. server: only the pricing cluster, until Ctrl+C (or --duration); it prints the command for the clients. client: only the shop cluster, running the walkthrough against servers elsewhere (needs --kafka and --redis).",
            DefaultValueFactory = _ => DemoRole.Both,
        };
        var instances = new Option<int>("--instances")
        {
            Description = "Instances per cluster in this process.",
            DefaultValueFactory = _ => 3,
        };
        var calls = new Option<int>("--calls")
        {
            Description = "Calls in the routing scene.",
            DefaultValueFactory = _ => 60,
        };
        var routing = new Option<ReplyRouting>("--routing")
        {
            Description = "How replies reach the callers: LeasedPartitions (default), ConsumerGroup or Broadcast.",
            DefaultValueFactory = _ => ReplyRouting.LeasedPartitions,
        };
        var prefix = new Option<string>("--name-prefix")
        {
            Description = "Prefix for instance names; give each process its own when several client or server processes share one Kafka and Redis.",
            DefaultValueFactory = _ => string.Empty,
        };
        var httpPort = new Option<int>("--http-port")
        {
            Description = "Client instances serve the HTTP edge on 127.0.0.1 from this port up (shop-1 on it, shop-2 on the next…). 0: free ports.",
            DefaultValueFactory = _ => 0,
        };
        var serve = new Option<bool>("--serve")
        {
            Description = "After the walkthrough, keep the client instances serving HTTP (and the servers running) until Ctrl+C, for your own curl.",
        };
        var duration = new Option<int>("--duration")
        {
            Description = "Server role: stop after this many seconds (0: run until Ctrl+C).",
            DefaultValueFactory = _ => 0,
        };

        instances.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 16)
            {
                r.AddError("--instances must be between 1 and 16.");
            }
        });
        calls.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 100_000)
            {
                r.AddError("--calls must be between 1 and 100000.");
            }
        });
        httpPort.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 65_000)
            {
                r.AddError("--http-port must be between 0 and 65000.");
            }
        });
        duration.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--duration must not be negative.");
            }
        });

        var root = new RootCommand(
            "TypedRpc quickstart: a shop cluster calls a pricing cluster through the generated IPricingService proxy, over Kafka, " +
            "with Redis recording which instance waits for which reply. With no options it runs both clusters (3 instances each) " +
            "on an embedded Kafka and an embedded Redis (Garnet), walks through routing, streaming, a timeout turning into a Pending result, " +
            "server errors and a client instance leaving, prints a summary and exits 0 when every check held.")
        {
            kafka, kafkaMock, transport, mqtt, redis, role, instances, calls, routing, prefix, httpPort, serve, duration,
        };
        root.Validators.Add(r =>
        {
            if (r.GetValue(kafkaMock) && r.GetValue(kafka) is null)
            {
                r.AddError("--kafka-mock needs --kafka: the bootstrap servers of the mock cluster another process started.");
            }

            if (r.GetValue(transport) == DemoTransport.Mqtt && (r.GetValue(kafka) is not null || r.GetValue(kafkaMock)))
            {
                r.AddError("--kafka and --kafka-mock are for --transport kafka; with --transport mqtt name the broker with --mqtt.");
            }

            if (r.GetValue(mqtt) is not null && r.GetValue(transport) != DemoTransport.Mqtt)
            {
                r.AddError("--mqtt needs --transport mqtt.");
            }

            if (r.GetValue(role) == DemoRole.Client && r.GetValue(transport) == DemoTransport.Mqtt && (r.GetValue(mqtt) is null || r.GetValue(redis) is null))
            {
                r.AddError("--role client --transport mqtt needs --mqtt and --redis: the servers' broker and Redis (start them with --role server, which prints the command).");
            }
            else if (r.GetValue(role) == DemoRole.Client && r.GetValue(transport) == DemoTransport.Kafka && (r.GetValue(kafka) is null || r.GetValue(redis) is null))
            {
                r.AddError("--role client needs --kafka and --redis: the servers' Kafka and Redis (start them with --role server, which prints the command).");
            }
        });

        root.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new DemoSettings
            {
                Kafka = parse.GetValue(kafka),
                KafkaIsMock = parse.GetValue(kafkaMock),
                Transport = parse.GetValue(transport),
                Mqtt = parse.GetValue(mqtt),
                Redis = parse.GetValue(redis),
                Role = parse.GetValue(role),
                Instances = parse.GetValue(instances),
                Calls = parse.GetValue(calls),
                Routing = parse.GetValue(routing),
                NamePrefix = parse.GetValue(prefix) ?? string.Empty,
                HttpPort = parse.GetValue(httpPort),
                Serve = parse.GetValue(serve),
            };
            return await RunAsync(settings, parse.GetValue(duration), cancellationToken);
        });

        return await root.Parse(args).InvokeAsync();
    }

    private static async Task<int> RunAsync(DemoSettings settings, int durationSeconds, CancellationToken cancellationToken)
    {
        var console = DemoConsole.Create();
        console.Heading("TypedRpc quickstart");
        var total = Stopwatch.StartNew();
        using var totals = new MeterTotals();
        var logs = new LogCollector();
        var ledger = new OrderLedger();
        var activity = new ServerActivity();

        Infrastructure infrastructure;
        try
        {
            infrastructure = await Infrastructure.StartAsync(settings);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            console.MarkupLine($"[red]Could not start the infrastructure:[/] {Markup.Escape(ex.Message)}");
            return 2;
        }

        await using var _ = infrastructure;
        if (settings.Transport == DemoTransport.Mqtt)
        {
            console.MarkupLine(infrastructure.LocalMqtt
                ? $"MQTT   [blue]{infrastructure.MqttServer}[/] [grey](mosquitto started for this run; requests on pricing/requests/{{method}}, shared by the servers; replies on shop/replies/{{instance}})[/]"
                : $"MQTT   [blue]{Markup.Escape(infrastructure.MqttServer)}[/]");
        }
        else
        {
            console.MarkupLine(infrastructure.EmbeddedKafka
                ? $"Kafka  [blue]{infrastructure.BootstrapServers}[/] [grey](embedded mock cluster, 3 brokers, librdkafka {EmbeddedKafka.LibrdkafkaVersion}; topics {settings.RequestTopic} ×{settings.RequestPartitions}, {settings.ReplyTopic} ×{settings.ReplyPartitions})[/]"
                : $"Kafka  [blue]{Markup.Escape(infrastructure.BootstrapServers)}[/]");
        }

        console.MarkupLine(infrastructure.EmbeddedRedis
            ? $"Redis  [blue]{infrastructure.Redis}[/] [grey](embedded: Garnet {EmbeddedRedis.GarnetVersion} in this process)[/]"
            : $"Redis  [blue]{Markup.Escape(infrastructure.Redis)}[/]");
        if (settings.Transport == DemoTransport.Kafka)
        {
            console.MarkupLine($"Routing [blue]{settings.Routing}[/] [grey](TypedRpc:Kafka:ReplyRouting)[/]");
        }

        var servers = new List<DemoInstance>();
        var clients = new List<DemoInstance>();
        try
        {
            await console.Status().StartAsync("starting instances…", async ctx =>
            {
                // Servers and clients start in parallel, each cluster's members together, as separate
                // processes would; joining the server consumer group takes a few seconds.
                var starting = new List<Task<DemoInstance>>();
                if (settings.Role != DemoRole.Client)
                {
                    starting.AddRange(Enumerable.Range(1, settings.Instances).Select(i =>
                        DemoInstance.StartAsync($"{settings.NamePrefix}pricing-{i}", client: false, server: true, settings, infrastructure, ledger, activity, logs, cancellationToken)));
                }

                if (settings.Role != DemoRole.Server)
                {
                    starting.AddRange(Enumerable.Range(1, settings.Instances).Select(i =>
                        DemoInstance.StartAsync($"{settings.NamePrefix}shop-{i}", client: true, server: false, settings, infrastructure, ledger, activity, logs, cancellationToken,
                            httpPort: settings.HttpPort == 0 ? 0 : settings.HttpPort + i - 1)));
                }

                foreach (var instance in await Task.WhenAll(starting))
                {
                    (instance.Client is null ? servers : clients).Add(instance);
                }
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            console.MarkupLine($"[red]An instance did not start:[/] {Markup.Escape(ex.Message)}");
            await StopAllAsync(clients, servers);
            PrintLogs(console, logs, _ => null);
            return 2;
        }

        console.MarkupLine($"Started in {total.Elapsed.TotalSeconds:0.0} s: " +
            (servers.Count > 0 ? $"server cluster [blue]pricing[/] ({string.Join(", ", servers.Select(s => s.Name))})" : string.Empty) +
            (servers.Count > 0 && clients.Count > 0 ? " and " : string.Empty) +
            (clients.Count > 0 ? $"client cluster [blue]shop[/] ({string.Join(", ", clients.Select(c => $"{c.Name} reads {Markup.Escape(c.Client!.ReplyAddress.ToString())}"))})" : string.Empty));

        if (settings.Role == DemoRole.Server)
        {
            return await ServeAsync(console, settings, infrastructure, servers, ledger, activity, totals, logs, durationSeconds, cancellationToken);
        }

        var walkthrough = new Walkthrough(console, settings, clients, settings.Role == DemoRole.Both ? ledger : null, totals);
        var exitCode = 0;
        try
        {
            // The whole walkthrough is bounded: the demo promises to end within two minutes.
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(TimeSpan.FromSeconds(90));
            await walkthrough.RunAsync(bound.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            console.MarkupLine("[red]The walkthrough did not finish within 90 s.[/]");
            exitCode = 1;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            console.MarkupLine($"[red]The walkthrough failed:[/] {Markup.Escape(ex.ToString())}");
            exitCode = 1;
        }

        if (settings.Serve && !cancellationToken.IsCancellationRequested)
        {
            var serving = clients.Where(c => c.IsRunning).ToArray();
            console.MarkupLine($"[bold]Serving until Ctrl+C[/] ({string.Join(", ", serving.Select(c => $"{c.Name} {c.HttpAddress}"))}). Try:");
            console.MarkupLine($"  curl -si '{serving[0].HttpAddress}/quotes/grinder-pro?quantity=2'");
            console.MarkupLine($"  curl -si -H 'Prefer: wait=1' '{serving[0].HttpAddress}/quotes/bespoke-roaster'");
            console.MarkupLine($"  curl -si -X POST -H 'Prefer: respond-async' -H 'Idempotency-Key: \"my-order-1\"' '{serving[0].HttpAddress}/orders/my-order-1?amount=12500'");
            console.MarkupLine($"  curl -si -H 'Prefer: wait=10' '{serving[^1].HttpAddress}/rpc-results/<handle from the Location header>'");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }

        var stopping = Stopwatch.StartNew();
        await StopAllAsync(clients, servers);
        var stopped = stopping.Elapsed;

        PrintSummary(console, walkthrough, totals, ledger, settings, stopped, total.Elapsed);
        PrintLogs(console, logs, walkthrough.WhyLogged);
        if (walkthrough.Failures.Count > 0)
        {
            console.MarkupLine($"[red]{walkthrough.Failures.Count} check(s) failed.[/]");
            exitCode = 1;
        }

        return exitCode;
    }

    private static async Task<int> ServeAsync(IAnsiConsole console, DemoSettings settings, Infrastructure infrastructure, List<DemoInstance> servers,
        OrderLedger ledger, ServerActivity activity, MeterTotals totals, LogCollector logs, int durationSeconds, CancellationToken cancellationToken)
    {
        if (settings.Transport == DemoTransport.Mqtt)
        {
            console.MarkupLine("Run the client cluster in another terminal on this machine with:");
            console.MarkupLine($"  [blue]./build.sh demo --role client --transport mqtt --mqtt {Markup.Escape(infrastructure.MqttServer)} --redis {Markup.Escape(infrastructure.Redis)}[/]");
        }
        else if (infrastructure.EmbeddedKafka || infrastructure.EmbeddedRedis)
        {
            console.MarkupLine("Run the client cluster in another terminal on this machine with:");
            var mock = infrastructure.KafkaIsMock ? " --kafka-mock" : string.Empty;
            console.MarkupLine($"  [blue]./build.sh demo --role client --kafka {Markup.Escape(infrastructure.BootstrapServers)}{mock} --redis {Markup.Escape(infrastructure.Redis)} --routing {settings.Routing}[/]");
        }

        console.MarkupLine(durationSeconds > 0 ? $"Serving for {durationSeconds} s." : "Serving; Ctrl+C stops (servers drain in-flight requests first).");
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (durationSeconds > 0)
        {
            bound.CancelAfter(TimeSpan.FromSeconds(durationSeconds));
        }

        var last = string.Empty;
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(2), bound.Token);
                var line = string.Join("  ", servers.Select(s => $"{s.Name}: {activity.RunsOf(s.Name)} run"));
                if (line != last)
                {
                    console.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}[/] {line}");
                    last = line;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        await StopAllAsync([], servers);
        console.MarkupLine($"Stopped. Requests handled: {totals["typedrpc.server.requests"]}, redelivered requests not run again: {totals["typedrpc.server.duplicates_suppressed"]}, orders placed: {ledger.Count}, run more than once: {ledger.ExecutedTwice}.");
        PrintLogs(console, logs, _ => null);
        return ledger.ExecutedTwice == 0 ? 0 : 1;
    }

    private static async Task StopAllAsync(List<DemoInstance> clients, List<DemoInstance> servers)
    {
        // Clients first: they fail what still waits; then servers drain.
        await Task.WhenAll(clients.Select(c => c.StopAsync()));
        await Task.WhenAll(servers.Select(s => s.StopAsync()));
    }

    private static void PrintSummary(IAnsiConsole console, Walkthrough walkthrough, MeterTotals totals, OrderLedger ledger, DemoSettings settings, TimeSpan stopped, TimeSpan elapsed)
    {
        var (calls, p50, p99) = walkthrough.Latency();
        var notOk = walkthrough.CallsNotOk();
        console.WriteLine();
        console.Heading("Summary");
        var table = new Table().Border(TableBorder.Rounded).HideHeaders();
        table.AddColumn("what");
        table.AddColumn(new TableColumn("value").RightAligned());
        // OK plus one row per part and status that did not end OK: the rows add up to the calls made.
        table.AddRow("calls made (all scenes)", totals["typedrpc.client.calls"].ToString());
        table.AddRow("  of which OK", totals["typedrpc.client.calls", "OK"].ToString());
        foreach (var failed in notOk)
        {
            var label = failed.Purpose is null
                ? $"  of which failed unexpectedly: {failed.Status} ({failed.Part})"
                : $"  of which failed on purpose: {failed.Status} ({failed.Part}: {failed.Purpose})";
            table.AddRow(Markup.Escape(label), failed.Count.ToString());
        }

        table.AddRow($"routing scene: p50 / p99 latency ({calls} calls)", $"{p50:0.0} ms / {p99:0.0} ms");
        table.AddRow("replies delivered directly", totals["typedrpc.client.replies.delivered", "direct"].ToString());
        table.AddRow("replies forwarded to their owner through Redis", totals["typedrpc.client.replies.forwarded"].ToString());
        table.AddRow("results stored for later fetch", totals["typedrpc.client.replies.stored"].ToString());
        table.AddRow("calls taken over by another instance", totals["typedrpc.client.takeovers"].ToString());
        table.AddRow("redelivered requests not run again (duplicates suppressed)", settings.Role == DemoRole.Both ? totals["typedrpc.server.duplicates_suppressed"].ToString() : "counted by the server process");
        table.AddRow("orders run more than once", settings.Role == DemoRole.Both ? ledger.ExecutedTwice.ToString() : "counted by the server process");
        table.AddRow("clean shutdown of every instance", $"{stopped.TotalSeconds:0.0} s");
        table.AddRow("total time", $"{elapsed.TotalSeconds:0.0} s");
        console.Write(table);
        console.MarkupLine("[grey]Counts come from the TypedRpc meter (typedrpc.client.*, typedrpc.server.*), as an OpenTelemetry exporter would see them.[/]");
        if (walkthrough.Failures.Count == 0)
        {
            console.MarkupLine("[green]Every check held.[/]");
        }
    }

    // Errors first, each marked expected when a scene provoked it; then warnings, counted apart.
    private static void PrintLogs(IAnsiConsole console, LogCollector logs, Func<LogEntry, string?> whyLogged)
    {
        const int Shown = 8;
        var entries = logs.Entries;
        var errors = entries.Where(e => e.Level >= LogLevel.Error).ToArray();
        var warnings = entries.Where(e => e.Level == LogLevel.Warning).ToArray();
        if (errors.Length > 0)
        {
            var expected = errors.Count(e => whyLogged(e) is not null);
            console.MarkupLine($"[red]{errors.Length} error(s) logged by the instances[/], {expected} of them expected{(errors.Length > Shown ? $" (first {Shown} shown)" : string.Empty)}:");
            foreach (var entry in errors.Take(Shown))
            {
                var why = whyLogged(entry);
                console.MarkupLine($"  [grey]{Markup.Escape(entry.ToString())}[/] {(why is null ? "[red]Unexpected.[/]" : $"Expected: {Markup.Escape(LogEntry.Sentence(why))}")}");
            }
        }

        if (warnings.Length == 0)
        {
            console.MarkupLine("No warnings logged by the instances.");
            return;
        }

        console.MarkupLine($"[yellow]{warnings.Length} warning(s) logged by the instances[/]{(warnings.Length > Shown ? $" (first {Shown} shown)" : string.Empty)}:");
        foreach (var entry in warnings.Take(Shown))
        {
            var why = whyLogged(entry);
            console.MarkupLine($"  [grey]{Markup.Escape(entry.ToString())}[/]{(why is null ? string.Empty : $" Expected: {Markup.Escape(LogEntry.Sentence(why))}")}");
        }
    }
}
