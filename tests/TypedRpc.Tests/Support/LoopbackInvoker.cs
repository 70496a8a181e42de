using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Serialization;

namespace TypedRpc.Tests.Support;

/// <summary>
/// Connects a generated proxy straight to a generated server base through the wire encoding
/// (arguments and replies as JSON bytes), with no transport: it tests the generated code alone.
/// </summary>
internal sealed class LoopbackInvoker : IRpcInvoker
{
    private readonly IRpcServiceBinding _server;

    public LoopbackInvoker(IRpcServiceBinding server, IRpcSerializer? serializer = null)
    {
        _server = server;
        Serializer = serializer ?? new JsonRpcSerializer();
    }

    public IRpcSerializer Serializer { get; }

    public List<SentCall> Sent { get; } = new();

    public async ValueTask<TResult> InvokeAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        var call = await DispatchAsync(method, args, options, cancellationToken);
        return Decode<TResult>(call.SingleReply())!;
    }

    public async ValueTask InvokeNoResultAsync<TArgs>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        var call = await DispatchAsync(method, args, options, cancellationToken);
        if (!call.Acknowledged)
        {
            throw new InvalidOperationException("The server did not acknowledge.");
        }
    }

    public async ValueTask<RpcResult<TResult>> InvokeForResultAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        try
        {
            var call = await DispatchAsync(method, args, options, cancellationToken);
            return RpcResult<TResult>.Completed(Decode<TResult>(call.SingleReply())!, call.Context.CorrelationId);
        }
        catch (RpcException ex)
        {
            return RpcResult<TResult>.Failed(ex.Status, ex.CorrelationId);
        }
    }

    public async IAsyncEnumerable<TResult> InvokeStreaming<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        var call = await DispatchAsync(method, args, options, cancellationToken);
        if (!call.StreamEnded)
        {
            throw new InvalidOperationException("The stream did not end.");
        }

        foreach (var item in call.Replies)
        {
            yield return Decode<TResult>(item)!;
        }
    }

    public static byte[] Encode<TArgs>(TArgs args, IRpcSerializer serializer)
        where TArgs : struct, IRpcArguments
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            args.WriteTo(writer, serializer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private async Task<CapturingCall> DispatchAsync<TArgs>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        var payload = Encode(args, Serializer);
        Sent.Add(new SentCall(method, Encoding.UTF8.GetString(payload), args.Key, options, cancellationToken));
        var call = new CapturingCall(method, payload, Serializer);
        await _server.DispatchAsync(call);
        return call;
    }

    private T? Decode<T>(byte[] json)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read();
        return Serializer.Deserialize<T>(ref reader);
    }
}

internal sealed record SentCall(RpcMethodDescriptor Method, string Json, string? Key, RpcCallOptions Options, CancellationToken CancellationToken);
