using System;
using Xunit;

namespace TypedRpc.Tests.Abstractions;

public sealed class ResultAndStatusTests
{
    [Fact]
    public void Completed_HoldsTheValue()
    {
        var result = RpcResult<int>.Completed(42, "id-1");

        Assert.True(result.IsCompleted);
        Assert.Equal(42, result.Value);
        Assert.Equal(42, result.GetValueOrThrow());
        Assert.True(result.TryGetValue(out var v) && v == 42);
        Assert.Equal(RpcStatusCode.OK, result.Status.StatusCode);
        Assert.Equal("id-1", result.CorrelationId);
    }

    [Fact]
    public void Pending_CarriesTheCorrelationId_AndThrowsDeadlineExceededWhenForced()
    {
        var result = RpcResult<string>.Pending("abc");

        Assert.True(result.IsPending);
        Assert.False(result.TryGetValue(out _));
        Assert.Throws<InvalidOperationException>(() => result.Value);
        var ex = Assert.Throws<RpcException>(() => result.GetValueOrThrow());
        Assert.Equal(RpcStatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.Equal("abc", ex.CorrelationId);
        Assert.Throws<ArgumentException>(() => RpcResult<string>.Pending(""));
    }

    [Fact]
    public void Failed_NeedsANonOkStatus()
    {
        var result = RpcResult<int>.Failed(new RpcStatus(RpcStatusCode.Internal, "boom"), "id");

        Assert.True(result.IsFailed);
        Assert.Equal("boom", Assert.Throws<RpcException>(() => result.GetValueOrThrow()).Status.Detail);
        Assert.Throws<ArgumentException>(() => RpcResult<int>.Failed(RpcStatus.Ok));
    }

    [Fact]
    public void Status_ComparesByCodeAndDetail_AndDefaultIsOk()
    {
        Assert.Equal(new RpcStatus(RpcStatusCode.NotFound, "x"), new RpcStatus(RpcStatusCode.NotFound, "x"));
        Assert.NotEqual(new RpcStatus(RpcStatusCode.NotFound, "x"), new RpcStatus(RpcStatusCode.NotFound, "y"));
        Assert.Equal(RpcStatus.Ok, default);
        Assert.Equal(string.Empty, default(RpcStatus).Detail);
    }

    [Fact]
    public void Exception_NamesStatusDetailAndCorrelationId()
    {
        var ex = new RpcException(new RpcStatus(RpcStatusCode.Unavailable, "broker down"), "cid-9");

        Assert.Equal(RpcStatusCode.Unavailable, ex.StatusCode);
        Assert.Equal("cid-9", ex.CorrelationId);
        Assert.Equal("Unavailable: broker down (correlation id cid-9)", ex.Message);
        Assert.Equal("Internal: Internal", new RpcException(new RpcStatus(RpcStatusCode.Internal, null)).Message);
    }

    [Fact]
    public void StatusCodes_MatchGrpcNumbering()
    {
        Assert.Equal(4, (int)RpcStatusCode.DeadlineExceeded);
        Assert.Equal(14, (int)RpcStatusCode.Unavailable);
        Assert.Equal(15, (int)RpcStatusCode.DataLoss);
        Assert.Equal(16, (int)RpcStatusCode.Unauthenticated);
    }
}
