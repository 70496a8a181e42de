using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TypedRpc.Hosting;
using TypedRpc.InMemory;

namespace TypedRpc.AspNetCore.Tests;

/// <summary>
/// A deployment for edge tests: "A" instances are real Kestrel apps on loopback ports serving the
/// HTTP edge and calling the contract; one "B" instance serves it. All share one in-memory
/// transport (the broker) and one in-memory store (Redis) — the edge's behaviour over Kafka and
/// Redis is the engine's, tested elsewhere.
/// </summary>
public sealed class EdgeHost : IAsyncDisposable
{
    public const string SharedKey = "c2hhcmVkLWtleS1mb3ItdGhlLWVkZ2UtdGVzdHMtMTIzNDU2Nzg5MA==";

    private readonly List<WebApplication> _apps = new();
    private ServiceProvider? _server;

    public InMemoryRpcTransport Transport { get; } = new();

    public InMemoryOwnershipStore Store { get; } = new();

    public EdgeState State { get; } = new();

    /// <summary>Further configuration of every instance's TypedRpc (its serializer, say).</summary>
    public Action<ITypedRpcBuilder>? ConfigureRpc { get; init; }

    public async Task StartServerAsync()
    {
        var services = new ServiceCollection();
        services.AddSingleton(State);
        var rpc = services.AddTypedRpc(o => o.InstanceId = "b-1").UseInMemoryTransport(Transport).UseInMemoryOwnershipStore(Store).AddServer<EdgeService>();
        ConfigureRpc?.Invoke(rpc);
        _server = services.BuildServiceProvider();
        await _server.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None);
    }

    /// <summary>Starts an "A" instance and returns a client for it.</summary>
    public async Task<HttpClient> StartEdgeAsync(string name, Action<RpcHttpOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var rpc = builder.Services.AddTypedRpc(o => o.InstanceId = name)
            .UseInMemoryTransport(Transport).UseInMemoryOwnershipStore(Store)
            .AddClient<IEdgeService>()
            .AddHttpEdge(o =>
            {
                o.ResultSigningKey = SharedKey;
                o.MaxWait = TimeSpan.FromSeconds(5);
                configure?.Invoke(o);
            });
        ConfigureRpc?.Invoke(rpc);
        var app = builder.Build();
        var orders = app.MapGroup("/").WithRpcResults();
        orders.MapPost("/orders/{id}", (string id, int? work, IEdgeService edge, RpcHttpCall call) => edge.PlaceAsync(id, work ?? 0, call.Options));
        orders.MapGet("/quotes/{id}", (string id, int? work, IEdgeService edge, RpcHttpCall call) => edge.QuoteAsync(id, work ?? 0, call.Options));
        orders.MapPost("/timed-orders/{id}", (string id, int work, IEdgeService edge, RpcHttpCall call) => edge.PlaceAsync(id, work, call.Options));
        orders.MapPost("/fail/{kind}", (string kind, IEdgeService edge, RpcHttpCall call) => edge.FailAsync(kind, call.Options));

        // A route that passes no options: the edge's scope carries Prefer and Idempotency-Key.
        orders.MapPost("/plain-orders/{id}", (string id, int? work, IEdgeService edge) => edge.PlaceAsync(id, work ?? 0));
        app.MapRpcResults();
        await app.StartAsync();
        _apps.Add(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.GetRequiredService<TypedRpcRuntime>().StopAsync(CancellationToken.None);
            await _server.DisposeAsync();
        }

        await Transport.DisposeAsync();
    }
}
