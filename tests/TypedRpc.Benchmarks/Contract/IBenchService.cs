using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.Benchmarks.Contract;

/// <summary>The request every contender sends (MassTransit's request client sends the same shape).</summary>
public sealed record QuoteRequest(string Symbol, int Quantity, decimal Limit);

/// <summary>The reply every contender receives.</summary>
public sealed record QuoteReply(string Symbol, int Quantity, decimal Price);

/// <summary>The contract of every TypedRpc contender.</summary>
[AsyncSyncContract("bench")]
public interface IBenchService
{
    /// <summary>Answers at once: the call is all transport and engine.</summary>
    Task<QuoteReply> QuoteAsync(QuoteRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The waiters scenario's call: nobody answers it, and its timeout (per call, through the
    /// options) ends it as Pending rather than with an exception.
    /// </summary>
    Task<RpcResult<QuoteReply>> HoldAsync(QuoteRequest request, RpcCallOptions options);
}

/// <summary>The serving side of <see cref="IBenchService"/>.</summary>
public sealed class BenchService : BenchServiceBase
{
    public static readonly QuoteRequest Sample = new("ACME", 10, 101.25m);

    public override Task<QuoteReply> QuoteAsync(QuoteRequest request, RpcServerCallContext context) =>
        Task.FromResult(new QuoteReply(request.Symbol, request.Quantity, request.Limit - 0.25m));

    public override Task<QuoteReply> HoldAsync(QuoteRequest request, RpcServerCallContext context) =>
        Task.FromResult(new QuoteReply(request.Symbol, request.Quantity, request.Limit));
}
