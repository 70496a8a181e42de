using System;
using System.Collections.Generic;
using System.Threading;
using Xunit;

namespace TypedRpc.Tests.Abstractions;

public sealed class CallOptionsTests
{
    [Fact]
    public void Default_HasNothingSet()
    {
        var options = RpcCallOptions.Default;

        Assert.Null(options.Timeout);
        Assert.Null(options.Deadline);
        Assert.Null(options.IdempotencyKey);
        Assert.Null(options.Headers);
        Assert.False(options.CancellationToken.CanBeCanceled);
    }

    [Fact]
    public void WithMethods_ReturnChangedCopies_AndTimeoutAndDeadlineExcludeEachOther()
    {
        using var cts = new CancellationTokenSource();
        var headers = new Dictionary<string, string> { ["tenant"] = "t1" };
        var deadline = DateTimeOffset.UtcNow.AddMinutes(1);

        var original = RpcCallOptions.Default.WithTimeout(TimeSpan.FromSeconds(2));
        var changed = original.WithIdempotencyKey("op-1").WithHeaders(headers).WithCancellationToken(cts.Token).WithDeadline(deadline);

        Assert.Equal(TimeSpan.FromSeconds(2), original.Timeout);
        Assert.Null(original.IdempotencyKey);
        Assert.Null(changed.Timeout);
        Assert.Equal(deadline, changed.Deadline);
        Assert.Equal("op-1", changed.IdempotencyKey);
        Assert.Same(headers, changed.Headers);
        Assert.Equal(cts.Token, changed.CancellationToken);
        Assert.Null(changed.WithTimeout(TimeSpan.FromSeconds(1)).Deadline);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void NonPositiveTimeouts_AreRefused(int ms) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RpcCallOptions.Default.WithTimeout(TimeSpan.FromMilliseconds(ms)));

    [Fact]
    public void HugeTimeouts_AreRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RpcCallOptions.Default.WithTimeout(TimeSpan.FromDays(30)));

    [Fact]
    public void BadIdempotencyKeys_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => RpcCallOptions.Default.WithIdempotencyKey(""));
        Assert.Throws<ArgumentException>(() => RpcCallOptions.Default.WithIdempotencyKey(new string('k', 257)));
        Assert.Null(RpcCallOptions.Default.WithIdempotencyKey("a").WithIdempotencyKey(null).IdempotencyKey);
    }

    [Theory]
    [InlineData("")]
    [InlineData("trpc-id")]
    [InlineData("TRPC-owner")]
    public void ReservedOrEmptyHeaderNames_AreRefused(string name) =>
        Assert.Throws<ArgumentException>(() => RpcCallOptions.Default.WithHeaders(new Dictionary<string, string> { [name] = "v" }));
}
