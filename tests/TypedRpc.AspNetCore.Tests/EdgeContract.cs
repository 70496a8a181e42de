using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.AspNetCore.Tests;

public sealed record Order(string OrderId, int Amount, string PlacedBy);

[AsyncSyncContract("edge-test")]
public interface IEdgeService
{
    [RpcTimeout(10_000)]
    Task<RpcResult<Order>> PlaceAsync(string orderId, int workMs, RpcCallOptions options = default);

    [RpcTimeout(10_000)]
    Task<Order> QuoteAsync(string orderId, int workMs, RpcCallOptions options = default);

    Task FailAsync(string kind, RpcCallOptions options = default);
}

/// <summary>Side effects per order id, shared by every server instance of a test.</summary>
public sealed class EdgeState
{
    public ConcurrentDictionary<string, int> Executions { get; } = new();
}

public sealed class EdgeService(EdgeState state) : EdgeServiceBase
{
    public override async Task<Order> PlaceAsync(string orderId, int workMs, RpcServerCallContext context)
    {
        state.Executions.AddOrUpdate(orderId, 1, static (_, n) => n + 1);
        await Task.Delay(workMs, CancellationToken.None);
        return new Order(orderId, 42, "server");
    }

    public override async Task<Order> QuoteAsync(string orderId, int workMs, RpcServerCallContext context)
    {
        await Task.Delay(workMs, CancellationToken.None);
        return new Order(orderId, 7, "server");
    }

    public override Task FailAsync(string kind, RpcServerCallContext context) => kind switch
    {
        "invalid" => throw new RpcException(RpcStatusCode.InvalidArgument, "amount must be positive"),
        "missing" => throw new RpcException(RpcStatusCode.NotFound, "no such order"),
        "busy" => throw new RpcException(RpcStatusCode.ResourceExhausted, "slow down"),
        "down" => throw new RpcException(RpcStatusCode.Unavailable, "db-7.internal refused the connection"),
        "bug" => throw new InvalidOperationException("secret stack detail"),
        _ => Task.CompletedTask,
    };
}
