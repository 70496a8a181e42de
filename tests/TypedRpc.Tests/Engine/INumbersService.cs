using System.Collections.Generic;
using System.Threading.Tasks;

namespace TypedRpc.Tests.Engine;

/// <summary>Floating-point arguments, replies and stream items, for the NaN and infinity cases.</summary>
[AsyncSyncContract("numbers")]
public interface INumbersService
{
    /// <summary>Returns <paramref name="price"/> times <paramref name="weight"/>, or NaN when <paramref name="replyNaN"/>.</summary>
    Task<double> PriceAsync(double price, float weight, PriceQuote quote, bool replyNaN);

    /// <summary>One argument: its generated writer has no argument index to track.</summary>
    Task<double> NegateAsync(double value);

    /// <summary>Quotes whose amount is their index, except the one at <paramref name="nanAt"/>: NaN.</summary>
    IAsyncEnumerable<PriceQuote> QuotesAsync(int count, int nanAt);
}
