using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace TypedRpc.Tests.Generated;

/// <summary>A server implementing every shape, recording what it was called with.</summary>
internal sealed class ShapesService : ShapesBase
{
    public List<string> Calls { get; } = new();

    public override Task PingAsync(RpcServerCallContext context)
    {
        Calls.Add("Ping");
        return Task.CompletedTask;
    }

    public override ValueTask TouchAsync(string name, RpcServerCallContext context)
    {
        Calls.Add("Touch:" + name);
        return ValueTask.CompletedTask;
    }

    public override Task<int> AddAsync(int a, int b, RpcServerCallContext context) => Task.FromResult(a + b);

    public override ValueTask<string?> EchoAsync(string? text, RpcServerCallContext context) => ValueTask.FromResult(text);

    public override Task<Payload> RoundTripAsync(Guid id, Payload payload, RpcServerCallContext context)
    {
        if (payload.Name == "fail")
        {
            throw new RpcException(RpcStatusCode.FailedPrecondition, "asked to fail");
        }

        return Task.FromResult(payload with { Id = id });
    }

    public override ValueTask<List<int>> RangeAsync(int start, int count, RpcServerCallContext context)
    {
        var list = new List<int>();
        for (var i = 0; i < count; i++)
        {
            list.Add(start + i);
        }

        return ValueTask.FromResult(list);
    }

    public override async IAsyncEnumerable<int> CountAsync(Region region, int to, RpcServerCallContext context)
    {
        for (var i = 1; i <= to; i++)
        {
            await Task.Yield();
            yield return i;
        }
    }

    public override Task<string> KeywordsAsync(string @event, int @class, string context, string Key, string writer, RpcServerCallContext callContext) =>
        Task.FromResult($"{@event}|{@class}|{context}|{Key}|{writer}|{callContext.Method.Name}");

    public override Task<IReadOnlyList<string>?> OptionalAsync(string? maybe, int count, decimal rate, Region region, string label, RpcServerCallContext context) =>
        Task.FromResult<IReadOnlyList<string>?>(new[] { maybe ?? "<null>", count.ToString(), rate.ToString(System.Globalization.CultureInfo.InvariantCulture), region.ToString(), label });
}

internal sealed class NestedService : OuterNestedBase
{
    public override Task<long> NowAsync(long offset, RpcServerCallContext context) => Task.FromResult(1_000_000_000_000L + offset);
}

internal sealed class GlobalService : global::GlobalContractBase
{
    public override Task<string> HelloAsync(string name, RpcServerCallContext context) => Task.FromResult("hello " + name);
}
