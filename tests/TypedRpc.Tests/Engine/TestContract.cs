using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc;

namespace TypedRpc.Tests.Engine;

/// <summary>A contract whose server behaviour each test controls through its arguments.</summary>
[AsyncSyncContract("engine-test")]
public interface ITestService
{
    Task<int> EchoAsync(int value, int delayMs, CancellationToken cancellationToken = default);

    [RpcTimeout(300)]
    Task<string> ShortTimeoutAsync(int delayMs, CancellationToken cancellationToken = default);

    [RpcTimeout(300, ExtendByMs = 1_500)]
    Task<string> ExtendedAsync(int delayMs);

    // The server must pick the request up before the deadline (or it is dropped unrun) and the
    // deadline must fire before the reply lands: both margins are wide enough for a busy machine.
    [RpcTimeout(500)]
    Task<RpcResult<string>> ResultAsync(int delayMs, string? fail = null);

    Task<string> OptionsAsync(int delayMs, RpcCallOptions options);

    [RpcTimeout(5_000)]
    Task<RpcResult<string>> SlowResultAsync(int delayMs, RpcCallOptions options);

    Task FailAsync(string kind);

    Task<int> SideEffectAsync([RpcKey] string key, int delayMs);

    /// <summary>Counts a side effect for <paramref name="key"/> once the work is done (after the delay).</summary>
    Task<int> EffectAsync(string key, int delayMs, RpcCallOptions options);

    IAsyncEnumerable<int> StreamAsync(int count, int failAfter, int delayMs, CancellationToken cancellationToken = default);

    Task<string> WaitForGateAsync(string gate);

    // Produces count items (-1: until its token fires), one every delayMs, counting them in
    // SideEffects[name] and opening the gate "cancelled:name" when its token fires; with
    // endQuietly it then ends by yield break, as a handler honouring its token often does.
    [RpcTimeout(500)]
    IAsyncEnumerable<int> TickAsync(string name, int count, int delayMs, bool endQuietly, RpcCallOptions options, CancellationToken cancellationToken = default);

    // Opens "started:name", then waits for its token and opens "cancelled:name".
    Task<string> HoldAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>Shared, per-test state the server reads and writes (side-effect counts, gates).</summary>
public sealed class TestState
{
    public ConcurrentDictionary<string, int> SideEffects { get; } = new();

    public ConcurrentDictionary<string, TaskCompletionSource> Gates { get; } = new();

    public int Executions;

    public TaskCompletionSource Gate(string name) => Gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

public sealed class TestService(TestState state) : TestServiceBase
{
    public override async Task<int> EchoAsync(int value, int delayMs, RpcServerCallContext context)
    {
        Interlocked.Increment(ref state.Executions);
        if (delayMs > 0)
        {
            await Task.Delay(delayMs);
        }

        return value;
    }

    public override async Task<string> ShortTimeoutAsync(int delayMs, RpcServerCallContext context)
    {
        await Task.Delay(delayMs);
        return "late:" + delayMs;
    }

    public override async Task<string> ExtendedAsync(int delayMs, RpcServerCallContext context)
    {
        await Task.Delay(delayMs);
        return "extended:" + delayMs;
    }

    public override async Task<string> ResultAsync(int delayMs, string? fail, RpcServerCallContext context)
    {
        await Task.Delay(delayMs);
        if (fail is not null)
        {
            throw new RpcException(RpcStatusCode.FailedPrecondition, fail);
        }

        return "result:" + delayMs;
    }

    public override async Task<string> OptionsAsync(int delayMs, RpcServerCallContext context)
    {
        await Task.Delay(delayMs);
        return string.Join(",", context.RequestHeaders.Count == 0 ? new[] { "-" } : new List<string>(context.RequestHeaders.Keys).ToArray());
    }

    public override async Task<string> SlowResultAsync(int delayMs, RpcServerCallContext context)
    {
        Interlocked.Increment(ref state.Executions);
        await Task.Delay(delayMs);
        return "slow:" + delayMs;
    }

    public override Task FailAsync(string kind, RpcServerCallContext context) => kind switch
    {
        "rpc" => throw new RpcException(RpcStatusCode.PermissionDenied, "no entry"),
        "generic" => throw new InvalidOperationException("secret internals"),
        "cancel" => Task.FromCanceled(new CancellationToken(true)),
        _ => Task.CompletedTask,
    };

    public override async Task<int> EffectAsync(string key, int delayMs, RpcServerCallContext context)
    {
        if (delayMs > 0)
        {
            await Task.Delay(delayMs, context.CancellationToken);
        }

        return state.SideEffects.AddOrUpdate(key, 1, (_, c) => c + 1);
    }

    public override async Task<int> SideEffectAsync(string key, int delayMs, RpcServerCallContext context)
    {
        var count = state.SideEffects.AddOrUpdate(key, 1, (_, c) => c + 1);
        if (delayMs > 0)
        {
            await Task.Delay(delayMs);
        }

        return count;
    }

    public override async IAsyncEnumerable<int> StreamAsync(int count, int failAfter, int delayMs, RpcServerCallContext context)
    {
        for (var i = 0; i < count; i++)
        {
            if (i == failAfter)
            {
                throw new RpcException(RpcStatusCode.Aborted, "stream broke at " + i);
            }

            if (delayMs > 0)
            {
                await Task.Delay(delayMs, context.CancellationToken);
            }

            yield return i;
        }
    }

    public override async IAsyncEnumerable<int> TickAsync(string name, int count, int delayMs, bool endQuietly, RpcServerCallContext context)
    {
        var token = context.CancellationToken;
        using var signal = token.Register(() => state.Gate("cancelled:" + name).TrySetResult());
        for (var i = 0; count < 0 || i < count; i++)
        {
            if (token.IsCancellationRequested)
            {
                if (endQuietly)
                {
                    yield break;
                }

                token.ThrowIfCancellationRequested();
            }

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

    public override async Task<string> WaitForGateAsync(string gate, RpcServerCallContext context)
    {
        await state.Gate(gate).Task.WaitAsync(context.CancellationToken);
        return "opened:" + gate;
    }
}
