using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc;

namespace TypedRpc.IntegrationTests;

public sealed record Order(string Id, decimal Amount, IReadOnlyList<string> Lines, DateTimeOffset At);

[AsyncSyncContract("integration")]
public interface IIntegrationService
{
    Task<Order> EchoAsync(Order order, CancellationToken cancellationToken = default);

    ValueTask<int> AddAsync(int a, int b);

    Task PingAsync();

    [RpcTimeout(1_000)]
    Task<RpcResult<string>> SlowAsync(int delayMs, string? fail = null);

    IAsyncEnumerable<int> CountAsync(int count, int failAt = -1, CancellationToken cancellationToken = default);

    Task FailAsync(string kind);

    Task<int> SideEffectAsync([RpcKey] string key);

    Task<string> DelayAsync(int delayMs);

    /// <summary>Returns the server instance that ran it; counts executions per correlation id.</summary>
    Task<string> WorkAsync(int delayMs, RpcCallOptions options);

    // Produces count items (-1: until its token fires), one every delayMs, counting them in
    // SideEffects[name] and opening Gate("cancelled:name") when its token fires; endQuietly ends
    // by yield break then.
    [RpcTimeout(2_000)]
    IAsyncEnumerable<int> TickAsync(string name, int count, int delayMs, bool endQuietly, RpcCallOptions options, CancellationToken cancellationToken = default);

    // Opens Gate("started:name"), waits for its token, opens Gate("cancelled:name").
    Task<string> HoldAsync(string name, CancellationToken cancellationToken = default);

    // Counts a run in SideEffects[name] and answers it.
    Task<string> RecordAsync(string name, RpcCallOptions options);
}

public sealed class IntegrationState
{
    public ConcurrentDictionary<string, int> SideEffects { get; } = new();

    /// <summary>Executions per correlation id, across every server instance of a cluster.</summary>
    public ConcurrentDictionary<string, int> Executions { get; } = new();

    /// <summary>Executions per server instance.</summary>
    public ConcurrentDictionary<string, int> ByServer { get; } = new();

    public ConcurrentDictionary<string, TaskCompletionSource> Gates { get; } = new();

    public TaskCompletionSource Gate(string name) => Gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

public sealed class IntegrationService(IntegrationState state, Microsoft.Extensions.Options.IOptions<TypedRpcOptions> options) : IntegrationServiceBase
{
    public override async Task<string> WorkAsync(int delayMs, RpcServerCallContext context)
    {
        state.Executions.AddOrUpdate(context.CorrelationId, 1, (_, c) => c + 1);
        state.ByServer.AddOrUpdate(options.Value.InstanceId, 1, (_, c) => c + 1);
        if (delayMs > 0)
        {
            await Task.Delay(delayMs);
        }

        return options.Value.InstanceId;
    }

    public override async IAsyncEnumerable<int> TickAsync(string name, int count, int delayMs, bool endQuietly, RpcServerCallContext context)
    {
        var token = context.CancellationToken;
        using var signal = token.Register(() => state.Gate("cancelled:" + name).TrySetResult());
        for (var i = 0; count < 0 || i < count; i++)
        {
            try
            {
                await Task.Delay(delayMs, token);
            }
            catch (OperationCanceledException) when (endQuietly)
            {
                yield break;
            }

            state.SideEffects.AddOrUpdate(name, 1, (_, c) => c + 1);
            yield return i;
        }
    }

    public override async Task<string> HoldAsync(string name, RpcServerCallContext context)
    {
        var token = context.CancellationToken;
        using var signal = token.Register(() => state.Gate("cancelled:" + name).TrySetResult());
        state.Gate("started:" + name).TrySetResult();
        await Task.Delay(Timeout.Infinite, token);
        return "held:" + name;
    }

    public override Task<string> RecordAsync(string name, RpcServerCallContext context)
    {
        state.SideEffects.AddOrUpdate(name, 1, (_, c) => c + 1);
        return Task.FromResult("recorded:" + name);
    }

    public override Task<Order> EchoAsync(Order order, RpcServerCallContext context) => Task.FromResult(order);

    public override ValueTask<int> AddAsync(int a, int b, RpcServerCallContext context) => ValueTask.FromResult(a + b);

    public override Task PingAsync(RpcServerCallContext context) => Task.CompletedTask;

    public override async Task<string> SlowAsync(int delayMs, string? fail, RpcServerCallContext context)
    {
        await Task.Delay(delayMs);
        return fail is null ? "slow:" + delayMs : throw new RpcException(RpcStatusCode.FailedPrecondition, fail);
    }

    public override async IAsyncEnumerable<int> CountAsync(int count, int failAt, RpcServerCallContext context)
    {
        for (var i = 0; i < count; i++)
        {
            if (i == failAt)
            {
                throw new RpcException(RpcStatusCode.Aborted, "broke at " + i);
            }

            await Task.Yield();
            yield return i;
        }
    }

    public override Task FailAsync(string kind, RpcServerCallContext context) => kind switch
    {
        "rpc" => throw new RpcException(RpcStatusCode.PermissionDenied, "no entry"),
        _ => throw new InvalidOperationException("secret internals"),
    };

    public override Task<int> SideEffectAsync(string key, RpcServerCallContext context) =>
        Task.FromResult(state.SideEffects.AddOrUpdate(key, 1, (_, c) => c + 1));

    public override async Task<string> DelayAsync(int delayMs, RpcServerCallContext context)
    {
        await Task.Delay(delayMs);
        return "delayed:" + delayMs;
    }
}
