using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Benchmarks.Contract;
using TypedRpc.Hosting;
using TypedRpc.InMemory;

namespace TypedRpc.Benchmarks.InMemory;

/// <summary>
/// TypedRpc over its in-memory transport: a client instance and a server instance (each its own
/// container) sharing one <see cref="InMemoryRpcTransport"/>; no ownership store, as MassTransit's
/// in-memory request client has none either.
/// </summary>
public sealed class TypedRpcInMemory : IAsyncDisposable
{
    private readonly ServiceProvider _client;
    private readonly ServiceProvider _server;

    private TypedRpcInMemory(ServiceProvider client, ServiceProvider server)
    {
        _client = client;
        _server = server;
        Service = client.GetRequiredService<IBenchService>();
    }

    public IBenchService Service { get; }

    public static async Task<TypedRpcInMemory> StartAsync()
    {
        var transport = new InMemoryRpcTransport();
        var client = Build(transport, client: true);
        var server = Build(transport, client: false);
        await server.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None);
        await client.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None);
        return new TypedRpcInMemory(client, server);
    }

    private static ServiceProvider Build(InMemoryRpcTransport transport, bool client)
    {
        var services = new ServiceCollection();
        var builder = services.AddTypedRpc(o =>
        {
            o.EnableOwnership = false;
            o.EnableClaims = false;
        }).UseInMemoryTransport(transport);
        if (client)
        {
            builder.AddClient<IBenchService>();
        }
        else
        {
            builder.AddServer<BenchService>();
        }

        return services.BuildServiceProvider();
    }

    public Task<QuoteReply> CallAsync() => Service.QuoteAsync(BenchService.Sample);

    public async ValueTask DisposeAsync()
    {
        await _client.GetRequiredService<TypedRpcRuntime>().StopAsync(CancellationToken.None);
        await _server.GetRequiredService<TypedRpcRuntime>().StopAsync(CancellationToken.None);
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }
}

/// <summary>MassTransit's request client on its in-memory transport, answering the same message shapes.</summary>
public sealed class MassTransitInMemory : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly IBusControl _bus;
    private readonly IRequestClient<QuoteRequest> _client;

    private MassTransitInMemory(ServiceProvider provider, IBusControl bus, IRequestClient<QuoteRequest> client)
    {
        _provider = provider;
        _bus = bus;
        _client = client;
    }

    public static async Task<MassTransitInMemory> StartAsync()
    {
        var services = new ServiceCollection();
        services.AddMassTransit(x =>
        {
            x.AddConsumer<QuoteConsumer>();
            x.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
        });
        var provider = services.BuildServiceProvider();
        var bus = provider.GetRequiredService<IBusControl>();
        await bus.StartAsync();
        return new MassTransitInMemory(provider, bus, bus.CreateRequestClient<QuoteRequest>());
    }

    public async Task<QuoteReply> CallAsync() => (await _client.GetResponse<QuoteReply>(BenchService.Sample)).Message;

    public async ValueTask DisposeAsync()
    {
        await _bus.StopAsync();
        await _provider.DisposeAsync();
    }

    /// <summary>The serving side, doing what <see cref="BenchService.QuoteAsync"/> does.</summary>
    public sealed class QuoteConsumer : IConsumer<QuoteRequest>
    {
        public Task Consume(ConsumeContext<QuoteRequest> context) =>
            context.RespondAsync(new QuoteReply(context.Message.Symbol, context.Message.Quantity, context.Message.Limit - 0.25m));
    }
}

/// <summary>
/// The part of a call that is the user's, without any RPC: the request record encoded and decoded
/// with TypedRpc's default JSON options, a new <see cref="BenchService"/> run on it, and its reply
/// encoded and decoded. What TypedRpc allocates beyond this is the engine's own.
/// </summary>
public static class DirectCall
{
    private static readonly JsonSerializerOptions s_options = new TypedRpc.Serialization.JsonRpcSerializer().Options;

    public static async Task<QuoteReply> CallAsync()
    {
        var request = JsonSerializer.Deserialize<QuoteRequest>(JsonSerializer.SerializeToUtf8Bytes(BenchService.Sample, s_options), s_options)!;
        var reply = await new BenchService().QuoteAsync(request, NoContext.Instance);
        return JsonSerializer.Deserialize<QuoteReply>(JsonSerializer.SerializeToUtf8Bytes(reply, s_options), s_options)!;
    }

    private sealed class NoContext : RpcServerCallContext
    {
        public static readonly NoContext Instance = new();
        private static readonly IReadOnlyDictionary<string, string> s_none = new Dictionary<string, string>();

        public override string CorrelationId => "direct";

        public override RpcMethodDescriptor Method => throw new NotSupportedException();

        public override DateTimeOffset Deadline => DateTimeOffset.MaxValue;

        public override IReadOnlyDictionary<string, string> RequestHeaders => s_none;

        public override CancellationToken CancellationToken => CancellationToken.None;
    }
}
