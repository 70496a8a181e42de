using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.Tests.Engine;

/// <summary>Serves <see cref="INumbersService"/>; counts the requests that reached it.</summary>
public sealed class NumbersService(TestState state) : NumbersServiceBase
{
    public override Task<double> PriceAsync(double price, float weight, PriceQuote quote, bool replyNaN, RpcServerCallContext context)
    {
        Interlocked.Increment(ref state.Executions);
        return Task.FromResult(replyNaN ? double.NaN : price * weight);
    }

    public override Task<double> NegateAsync(double value, RpcServerCallContext context) => Task.FromResult(-value);

    public override async IAsyncEnumerable<PriceQuote> QuotesAsync(int count, int nanAt, RpcServerCallContext context)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return new PriceQuote("sku-" + i, i == nanAt ? double.NaN : i);
        }
    }
}
