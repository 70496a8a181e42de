using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using System.Linq;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quickstart.Contracts;
using TypedRpc;
using TypedRpc.Client;
using TypedRpc.Kafka;

namespace Quickstart;

/// <summary>
/// One service instance: its own generic host, configuration, Kafka clients and Redis connection —
/// exactly what a separate process would have, so several of them in one process behave like a
/// cluster.
/// </summary>
public sealed class DemoInstance : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _stopped;

    private DemoInstance(string name, IHost host, bool client)
    {
        Name = name;
        _host = host;
        if (client)
        {
            Pricing = host.Services.GetRequiredService<IPricingService>();
            Results = host.Services.GetRequiredService<IRpcResults>();
            Client = host.Services.GetRequiredService<RpcClient>();
        }
    }

    /// <summary>The instance id (TypedRpc:InstanceId).</summary>
    public string Name { get; }

    /// <summary>The generated proxy (client instances).</summary>
    public IPricingService? Pricing { get; }

    /// <summary>Results by correlation id (client instances).</summary>
    public IRpcResults? Results { get; }

    /// <summary>The engine's client, for its reply address (client instances).</summary>
    public RpcClient? Client { get; }

    /// <summary>Whether the instance still runs (it has not left).</summary>
    public bool IsRunning => !_stopped;

    /// <summary>The HTTP edge's base address (client instances), e.g. <c>http://127.0.0.1:5081</c>.</summary>
    public string? HttpAddress { get; private set; }

    /// <summary>
    /// Builds and starts an instance the way an application would: configuration → AddTypedRpc →
    /// AddKafka (or AddMqtt) → AddRedis. A client instance is a web application that also serves the HTTP edge
    /// (<see cref="ShopEdge"/>) on a loopback port; a server instance is a plain generic host.
    /// </summary>
    public static async Task<DemoInstance> StartAsync(string name, bool client, bool server, DemoSettings settings, Infrastructure infrastructure,
        OrderLedger ledger, ServerActivity activity, LogCollector logs, CancellationToken cancellationToken, int httpPort = 0)
    {
        IHostApplicationBuilder builder = client
            ? WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory })
            : Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddJsonFile("appsettings.json", optional: false);
        if (infrastructure.KafkaIsMock)
        {
            // The mock cluster's client settings (a short fetch wait and consumer-group session,
            // from EmbeddedKafka) go in before the configuration is bound, which can override them.
            builder.Services.Configure<KafkaTransportOptions>(infrastructure.ConfigureMockKafka);
        }

        // The instances of one run share a signing key for result handles (a real cluster
        // configures one: TypedRpc__Http__ResultSigningKey), so any of them can answer a poll.
        builder.Configuration.AddInMemoryCollection([new("TypedRpc:Http:ResultSigningKey", settings.ResultSigningKey)]);

        // TypedRpc__Kafka__Settings__security.protocol=SASL_SSL and the like override the file.
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["TypedRpc:InstanceId"] = name,
            ["TypedRpc:Kafka:BootstrapServers"] = infrastructure.BootstrapServers,
            ["TypedRpc:Kafka:ReplyRouting"] = settings.Routing.ToString(),
            ["TypedRpc:Mqtt:Server"] = infrastructure.MqttServer,
            ["TypedRpc:Redis:Configuration"] = infrastructure.Redis,
        });

        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddProvider(logs.For(name));

        builder.Services.AddSingleton(new InstanceName(name));
        builder.Services.AddSingleton(ledger);
        builder.Services.AddSingleton(activity);
        var rpc = builder.Services.AddTypedRpc(builder.Configuration.GetSection("TypedRpc"));
        // The same contracts, proxies and servers over either transport: only this line differs.
        rpc = settings.Transport == DemoTransport.Mqtt
            ? rpc.AddMqtt(builder.Configuration.GetSection("TypedRpc:Mqtt"))
            : rpc.AddKafka(builder.Configuration.GetSection("TypedRpc:Kafka"));
        rpc.AddRedis(builder.Configuration.GetSection("TypedRpc:Redis"));
        if (client)
        {
            rpc.AddClient<IPricingService>().AddHttpEdge(builder.Configuration.GetSection("TypedRpc:Http"));
            ((WebApplicationBuilder)builder).WebHost.UseUrls($"http://127.0.0.1:{httpPort}");
        }

        if (server)
        {
            rpc.AddServer<PricingService>();
        }

        IHost host;
        if (builder is WebApplicationBuilder web)
        {
            var app = web.Build();
            ShopEdge.Map(app);
            host = app;
        }
        else
        {
            host = ((HostApplicationBuilder)builder).Build();
        }

        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        var instance = new DemoInstance(name, host, client);
        if (host is WebApplication started)
        {
            instance.HttpAddress = started.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        }

        return instance;
    }

    /// <summary>
    /// Leaves the cluster gracefully: servers drain, the client waits for the replies of its waiting
    /// calls (unless <paramref name="waitForCalls"/> is false: then it fails them with Unavailable at
    /// once, as a deploy with no grace period would) and releases its partition.
    /// </summary>
    public async Task StopAsync(bool waitForCalls = true)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        if (!waitForCalls)
        {
            // The stop token cuts every drain short.
            timeout.Cancel();
        }

        try
        {
            await _host.StopAsync(timeout.Token);
        }
        finally
        {
            _host.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync();
}
