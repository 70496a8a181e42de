using System;
using System.Collections.Concurrent;
using System.Text;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// A participant that speaks the transport directly, below the engine: a misbehaving server
/// (garbage, duplicate or out-of-order replies) or a raw caller (unknown methods, bad arguments).
/// </summary>
public sealed class RawPeer : IAsyncDisposable
{
    private readonly IRpcTransport _transport;
    private IAsyncDisposable? _requests;
    private IRpcReplySubscription? _replies;

    public RawPeer(IRpcTransport transport) => _transport = transport;

    public Channel<RpcRequest> Requests { get; } = Channel.CreateUnbounded<RpcRequest>();

    public Channel<RpcReply> Replies { get; } = Channel.CreateUnbounded<RpcReply>();

    public RpcReplyAddress Address => _replies!.Address;

    /// <summary>Consumes the service's requests (as a server would) without answering them.</summary>
    public async Task ServeAsync(RpcServiceDescriptor service) =>
        _requests = await _transport.SubscribeRequestsAsync(service, (request, _) =>
        {
            Requests.Writer.TryWrite(request);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);

    /// <summary>Receives replies at its own address (as a caller would).</summary>
    public async Task ListenAsync(string instanceId) =>
        _replies = await _transport.SubscribeRepliesAsync(instanceId, (reply, _) =>
        {
            Replies.Writer.TryWrite(reply);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);

    public ValueTask ReplyAsync(RpcRequest request, int sequence, bool end, string? json, RpcStatusCode status = RpcStatusCode.OK) =>
        _transport.SendReplyAsync(request.ReplyTo, new RpcReply
        {
            Id = request.Id,
            Sequence = sequence,
            IsEnd = end,
            Status = status,
            HasValue = json is not null,
            Payload = json is null ? default : Encoding.UTF8.GetBytes(json),
        }, CancellationToken.None);

    public ValueTask SendRequestAsync(RpcServiceDescriptor service, string method, string json, long? deadlineUnixMs = null, string? decodeError = null, CorrelationId? id = null) =>
        _transport.SendRequestAsync(service, new RpcRequest
        {
            Id = id ?? CorrelationId.NewId(),
            Service = service.ServiceName,
            Method = method,
            ReplyTo = Address,
            Owner = "raw",
            DeadlineUnixMs = deadlineUnixMs ?? DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds(),
            Payload = Encoding.UTF8.GetBytes(json),
            DecodeError = decodeError,
        }, CancellationToken.None);

    public async Task<RpcReply> NextReplyAsync(int timeoutMs = 5_000) =>
        await Replies.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromMilliseconds(timeoutMs));

    public async Task<RpcRequest> NextRequestAsync(int timeoutMs = 5_000) =>
        await Requests.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromMilliseconds(timeoutMs));

    public async ValueTask DisposeAsync()
    {
        if (_requests is not null)
        {
            await _requests.DisposeAsync();
        }

        if (_replies is not null)
        {
            await _replies.DisposeAsync();
        }
    }
}

/// <summary>Records the replies that found no waiter.</summary>
public sealed class RecordingUnmatchedHandler : IUnmatchedReplyHandler
{
    public ConcurrentQueue<(RpcReply Reply, UnmatchedReason Reason)> Received { get; } = new();

    public ValueTask OnUnmatchedReplyAsync(RpcReply reply, UnmatchedReason reason)
    {
        Received.Enqueue((reply, reason));
        return ValueTask.CompletedTask;
    }
}
