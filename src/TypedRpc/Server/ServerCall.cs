using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Serialization;
using TypedRpc.Transport;

namespace TypedRpc.Server;

/// <summary>
/// One request being handled: gives the dispatcher the payload and sends the replies it produces,
/// numbering them, and remembers them for the claim (so a redelivery re-sends them).
/// </summary>
internal sealed class ServerCall : RpcServerCall
{
    private readonly RpcRequest _request;
    private readonly IRpcTransport _transport;
    private readonly int _maxCached;
    private readonly ServerCallContext _context;
    private List<RpcReply>? _sent;
    private int _sequence;

    public ServerCall(RpcRequest request, RpcMethodDescriptor method, IRpcTransport transport, IRpcSerializer serializer, int maxCachedReplies, CancellationToken serverStopping,
        HeldClaim? claim = null)
    {
        Claim = claim;
        _request = request;
        _transport = transport;
        Serializer = serializer;
        _maxCached = maxCachedReplies;
        _context = new ServerCallContext(request, method, serverStopping, claim);
    }

    public override RpcServerCallContext Context => _context;

    /// <summary>The request being handled.</summary>
    public RpcRequest Request => _request;

    /// <summary>This delivery's claim on the request, or <see langword="null"/> without claims.</summary>
    public HeldClaim? Claim { get; }

    public ServerCallContext ServerContext => _context;

    public override ReadOnlyMemory<byte> Payload => _request.Payload;

    public override IRpcSerializer Serializer { get; }

    /// <summary>Whether the final message was sent.</summary>
    public bool Ended { get; private set; }

    /// <summary>The status of the final message sent (Unknown until one is sent).</summary>
    public RpcStatusCode FinalStatus { get; private set; } = RpcStatusCode.Unknown;

    public bool CacheOverflowed { get; private set; }

    /// <summary>A reply message of this call; every one tells the caller whether this delivery's claim wrote its owner record.</summary>
    private RpcReply Message(RpcStatusCode status, int sequence, bool isEnd, ReadOnlyMemory<byte>? value = null, string? detail = null) => new()
    {
        Id = _request.Id,
        Status = status,
        Detail = detail,
        Sequence = sequence,
        IsEnd = isEnd,
        HasValue = value.HasValue,
        Payload = value ?? default,
        OwnerRecorded = Claim is { OwnerRecorded: true },
    };

    public override ValueTask ReplyAsync<T>(T value)
    {
        EnsureNotEnded();
        return SendAsync(Message(RpcStatusCode.OK, 0, isEnd: true, PayloadCodec.EncodeValue(value, Serializer)));
    }

    public override ValueTask ReplyAsync()
    {
        EnsureNotEnded();
        return SendAsync(Message(RpcStatusCode.OK, 0, isEnd: true));
    }

    public override async ValueTask ReplyStreamAsync<T>(IAsyncEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        EnsureNotEnded();
        try
        {
            await foreach (var item in items.WithCancellation(_context.CancellationToken).ConfigureAwait(false))
            {
                var payload = PayloadCodec.EncodeValue(item, Serializer);
                await SendAsync(Message(RpcStatusCode.OK, _sequence, isEnd: false, payload)).ConfigureAwait(false);
            }

            // Only a producer that finished on its own completes the stream: one that stopped
            // because its token fired (deadline, cancel, stop, fence) was cut short, and the caller
            // must not take the items so far for the whole stream.
            var token = _context.CancellationToken;
            if (token.IsCancellationRequested)
            {
                throw new OperationCanceledException("The stream was cut off before its handler finished.", token);
            }
        }
        catch (Exception ex) when (!Ended && ex is not TransportSendException)
        {
            // The items already sent stand; the end message carries the error after them.
            throw new StreamFailedException(ex);
        }

        await SendAsync(Message(RpcStatusCode.OK, _sequence, isEnd: true)).ConfigureAwait(false);
    }

    /// <summary>Records that the call ended because its caller cancelled it (no reply sent).</summary>
    public void MarkCancelled() => FinalStatus = RpcStatusCode.Cancelled;

    /// <summary>The messages sent so far (stream items, or the final one).</summary>
    public int SentCount => _sequence;

    /// <summary>Sends the final error message (after any items already sent).</summary>
    /// <param name="status">The status.</param>
    /// <param name="keepWithClaim">Whether the error is the request's outcome, stored with the claim for redeliveries; <see langword="false"/> for an end that says only how this run was cut short.</param>
    public ValueTask SendErrorAsync(RpcStatus status, bool keepWithClaim = true) =>
        SendAsync(Message(status.StatusCode, _sequence, isEnd: true, detail: status.Detail), keepWithClaim);

    private async ValueTask SendAsync(RpcReply reply, bool keepWithClaim = true)
    {
        var completing = default(ValueTask);
        if (!keepWithClaim)
        {
            Ended = reply.IsEnd;
            FinalStatus = reply.Status;
        }
        else if (reply.IsEnd)
        {
            Ended = true;
            FinalStatus = reply.Status;
            if (Claim is not null)
            {
                // The claim is completed with every reply while the final message goes out (side by
                // side: storing first would add a store round trip and save no run; docs/architecture.md,
                // "Serving", step 7), and the request is acknowledged once both are done. A stream too
                // long to keep stores its final message alone: every item before it was sent (a
                // failed item send aborts the call), so the end is all a redelivery owes.
                completing = Claim.CompleteAsync(CacheOverflowed ? [reply] : WithFinal(reply));
            }
        }

        _sequence = reply.Sequence + 1;
        try
        {
            await _transport.SendReplyAsync(_request.ReplyTo, reply, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RpcException) when (reply.IsEnd)
        {
            // Refused for good (the reply is too large): the call has not ended after all. The host
            // turns the exception into the call's error status and sends that as the final message
            // instead — which also completes the claim again, with the error in place of the refused
            // reply (after this completion has landed, so that it cannot overwrite that one), and a
            // redelivery re-sends the error. Otherwise the caller would wait for its deadline.
            await completing.ConfigureAwait(false);
            Ended = false;
            FinalStatus = RpcStatusCode.Unknown;
            _sequence = reply.Sequence;
            throw;
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            // A transport failure: the request must stay unacknowledged. An RpcException (say, the
            // reply is too large) is permanent and becomes the call's error status instead.
            await completing.ConfigureAwait(false);
            throw new TransportSendException(ex);
        }

        // Never throws: a failed completion is retried by the claim's keeper, the claim kept meanwhile.
        await completing.ConfigureAwait(false);

        // Only a claim needs the replies sent before the final one (WithFinal adds that one).
        if (Claim is not null && !reply.IsEnd && !CacheOverflowed)
        {
            _sent ??= new List<RpcReply>(1);
            if (_sent.Count <= _maxCached)
            {
                _sent.Add(reply);
            }
            else
            {
                CacheOverflowed = true;
                _sent = null;
            }
        }
    }

    private IReadOnlyList<RpcReply> WithFinal(RpcReply reply)
    {
        if (_sent is null)
        {
            return [reply];
        }

        var all = new RpcReply[_sent.Count + 1];
        _sent.CopyTo(all);
        all[^1] = reply;
        return all;
    }

    private void EnsureNotEnded()
    {
        if (Ended)
        {
            throw new InvalidOperationException("The call already sent its final reply.");
        }
    }
}

/// <summary>A reply could not be handed to the transport: the request must not be acknowledged.</summary>
internal sealed class TransportSendException(Exception inner) : Exception("Sending a reply failed: " + inner.Message, inner);

/// <summary>A stream's producer failed after the stream started.</summary>
internal sealed class StreamFailedException(Exception inner) : Exception("The stream failed: " + inner.Message, inner);
