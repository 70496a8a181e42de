using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using TypedRpc.InMemory;
using TypedRpc.Serialization;
using TypedRpc.Server;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>How a server run that ended in an exception is read: the outcome, and the status its caller is answered with.</summary>
public sealed class RunEndingTests
{
    private static readonly RpcMethodDescriptor s_method = new(0, "Count", "CountAsync", RpcMethodKind.ServerStreaming, typeof(int), 0, 0, false, false);
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(30);

    private static ServerCall Call(HeldClaim? claim = null, long? deadlineUnixMs = null)
    {
        var request = new RpcRequest
        {
            Id = claim?.Id ?? CorrelationId.NewId(),
            Service = "counting",
            Method = s_method.Name,
            ReplyTo = new RpcReplyAddress("replies.caller"),
            Owner = "caller",
            DeadlineUnixMs = deadlineUnixMs ?? claim?.RequestDeadlineUnixMs ?? DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(),
        };
        return new ServerCall(request, s_method, new AcceptingTransport(), new JsonRpcSerializer(), 100, CancellationToken.None, claim);
    }

    private static async Task<HeldClaim> ClaimAsync(long? deadlineUnixMs = null)
    {
        var options = new TypedRpcOptions { ClaimTimeToLive = TimeToLive };
        var keeper = new ClaimKeeper(new InMemoryOwnershipStore(), "counting", options, NullLogger.Instance);
        var request = new RpcRequest
        {
            Id = CorrelationId.NewId(),
            Service = "counting",
            Method = s_method.Name,
            ReplyTo = new RpcReplyAddress("replies.caller"),
            Owner = "caller",
            DeadlineUnixMs = deadlineUnixMs ?? DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(),
        };
        var result = await keeper.ClaimAsync(request, keeper.NextHolder(), waited: false, expired: false);
        return result.Held!;
    }

    private static RunEnd Read(Exception failure, ServerCall call, bool stopping, out RpcStatus status, bool details = false) =>
        RunEnding.Read(failure, call, stopping, details, out status);

    [Fact]
    public void ASendThatFailed_IsHandedBack()
    {
        Assert.Equal(RunEnd.SendFailed, Read(new TransportSendException(new InvalidOperationException("broker down")), Call(), stopping: false, out _));
    }

    [Fact]
    public void AnRpcException_KeepsItsStatus_EvenFromAStream()
    {
        var status = new RpcStatus(RpcStatusCode.NotFound, "no such quote");

        Assert.Equal(RunEnd.Failed, Read(new RpcException(status), Call(), stopping: false, out var direct));
        Assert.Equal(RunEnd.Failed, Read(new StreamFailedException(new RpcException(status)), Call(), stopping: false, out var streamed));

        Assert.Equal(status, direct);
        Assert.Equal(status, streamed);
    }

    [Fact]
    public void AnyOtherException_IsInternal_WithItsDetailsOnlyWhenAsked()
    {
        var failure = new InvalidOperationException("boom");

        Read(failure, Call(), stopping: false, out var plain);
        Read(failure, Call(), stopping: false, out var detailed, details: true);

        Assert.Equal(RpcStatusCode.Internal, plain.StatusCode);
        Assert.DoesNotContain("boom", plain.Detail, StringComparison.Ordinal);
        Assert.Equal("InvalidOperationException: boom", detailed.Detail);
    }

    [Fact]
    public async Task ACancellationWhileStopping_LeavesTheRequest_OrEndsAStreamThatStarted()
    {
        var fresh = Call();
        var started = Call();
        var failure = await Record.ExceptionAsync(() => started.ReplyStreamAsync(OneThenCancelled()).AsTask());

        Assert.Equal(RunEnd.Stopped, Read(new OperationCanceledException(), fresh, stopping: true, out _));
        Assert.IsType<StreamFailedException>(failure);
        Assert.Equal(1, started.SentCount);
        Assert.Equal(RunEnd.StreamCutByStop, Read(failure, started, stopping: true, out _));
    }

    [Fact]
    public async Task ACancellationOfAFencedClaim_IsFenced_OrLostWhenAnotherDeliveryHoldsIt()
    {
        var fenced = await ClaimAsync();
        var lost = await ClaimAsync();
        fenced.Fence();
        lost.Lost = true;
        lost.Fence();

        Assert.Equal(RunEnd.Fenced, Read(new OperationCanceledException(), Call(fenced), stopping: false, out _));
        Assert.Equal(RunEnd.Lost, Read(new OperationCanceledException(), Call(lost), stopping: false, out _));
    }

    [Fact]
    public async Task ACancellationByTheCaller_IsCancelledByCaller()
    {
        var claim = await ClaimAsync();
        claim.CancelByCaller();

        Assert.Equal(RunEnd.CancelledByCaller, Read(new OperationCanceledException(), Call(claim), stopping: false, out _));
    }

    [Fact]
    public async Task ACancellationPastTheDeadline_IsDeadlineExceeded_CutShortUnderAClaim()
    {
        var past = DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds();
        var claim = await ClaimAsync(past);

        Assert.Equal(RunEnd.CutAtDeadline, Read(new OperationCanceledException(), Call(claim), stopping: false, out var claimed));
        Assert.Equal(RunEnd.Failed, Read(new OperationCanceledException(), Call(deadlineUnixMs: past), stopping: false, out var unclaimed));

        Assert.Equal(RpcStatusCode.DeadlineExceeded, claimed.StatusCode);
        Assert.Equal(RpcStatusCode.DeadlineExceeded, unclaimed.StatusCode);
    }

    private static async IAsyncEnumerable<int> OneThenCancelled([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return 1;
        await Task.Yield();
        throw new OperationCanceledException(cancellationToken);
    }

    private sealed class AcceptingTransport : IRpcTransport
    {
        public ValueTask SendRequestAsync(RpcServiceDescriptor service, RpcRequest request, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<IAsyncDisposable> SubscribeRequestsAsync(RpcServiceDescriptor service, RpcRequestHandler handler, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public ValueTask<IRpcReplySubscription> SubscribeRepliesAsync(string instanceId, RpcReplyHandler handler, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
