using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc;

namespace TypedRpc.Tests.Generated;

public enum Region
{
    Europe,
    Asia,
}

public sealed record Payload(string Name, int[] Values, Dictionary<string, decimal> Prices, Region Region, Guid Id,
    DateTime At, DateTimeOffset AtOffset, TimeSpan Span, decimal Amount, byte[] Blob, int? Maybe);

/// <summary>Every supported method shape in one contract.</summary>
[AsyncSyncContract("shapes", Topic = "shapes.requests")]
[RpcTimeout(15_000)]
public interface IShapes
{
    Task PingAsync();

    ValueTask TouchAsync(string name, CancellationToken cancellationToken);

    Task<int> AddAsync(int a, int b, CancellationToken cancellationToken = default);

    ValueTask<string?> EchoAsync(string? text, RpcCallOptions options, CancellationToken cancellationToken = default);

    [RpcTimeout(1_000, ExtendByMs = 500)]
    Task<RpcResult<Payload>> RoundTripAsync([RpcKey] Guid id, Payload payload);

    ValueTask<RpcResult<List<int>>> RangeAsync(int start, int count = 3);

    IAsyncEnumerable<int> CountAsync([RpcKey] Region region, int to, CancellationToken cancellationToken = default);

    // Keyword-named parameters and names that collide with generated members.
    Task<string> KeywordsAsync(string @event, int @class, string context, string Key, string writer);

    Task<IReadOnlyList<string>?> OptionalAsync(string? maybe = null, int count = 2, decimal rate = 1.5m, Region region = Region.Asia, string label = "x\"y");
}

public static class Outer
{
    /// <summary>A contract nested in a static class.</summary>
    [AsyncSyncContract("nested")]
    internal interface INested
    {
        Task<long> NowAsync(long offset);
    }
}
