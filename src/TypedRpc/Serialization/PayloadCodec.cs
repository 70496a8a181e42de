using System;
using System.Text.Json;

namespace TypedRpc.Serialization;

/// <summary>Encodes arguments and values into JSON payloads, and decodes reply values.</summary>
internal static class PayloadCodec
{
    private static readonly JsonWriterOptions s_writerOptions = new() { SkipValidation = true };

    // One writer per thread, reset onto each buffer: a Utf8JsonWriter is ~140 bytes and every call
    // encodes twice (arguments, reply) — a tenth of an in-memory call's allocations without it
    // (overhead benchmark). Taken out while in use, so a serializer that encodes again on the same thread
    // gets a writer of its own.
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    [ThreadStatic]
    private static PooledBufferWriter? t_buffer;

    /// <summary>
    /// Encodes a call's arguments into an array of its own: the request is the transport's once
    /// sent (<see cref="Transport.IRpcTransport"/>), so its payload must never be written again.
    /// </summary>
    public static byte[] EncodeArguments<TArgs>(in TArgs args, IRpcSerializer serializer)
        where TArgs : struct, IRpcArguments
    {
        var buffer = RentBuffer();
        var writer = RentWriter(buffer);
        try
        {
            args.WriteTo(writer, serializer);
            writer.Flush();
            return buffer.ToArray();
        }
        finally
        {
            ReturnWriter(writer);
            ReturnBuffer(buffer);
        }
    }

    /// <summary>
    /// Encodes a reply value or stream item into an array of its own. A NaN or an infinity in it
    /// fails the call with <see cref="RpcStatusCode.Internal"/> and a detail that says so (the
    /// handler's result cannot be sent; the host logs it as a handler failure); any other failure
    /// is thrown as it is.
    /// </summary>
    public static byte[] EncodeValue<T>(T value, IRpcSerializer serializer)
    {
        var buffer = RentBuffer();
        var writer = RentWriter(buffer);
        try
        {
            serializer.Serialize(writer, value);
            writer.Flush();
            return buffer.ToArray();
        }
        catch (Exception ex) when (NonFiniteNumbers.IsRefusal(ex))
        {
            var detail = NonFiniteNumbers.TryDescribe(value, out var text)
                ? $"The reply value is {text}, {NonFiniteNumbers.Reason}"
                : $"The reply value holds a non-finite number (NaN or Infinity), {NonFiniteNumbers.Reason}";
            throw new RpcException(new RpcStatus(RpcStatusCode.Internal, detail), null, ex);
        }
        finally
        {
            ReturnWriter(writer);
            ReturnBuffer(buffer);
        }
    }

    // The payload leaves as an array of its own, so the buffer it is written into is this thread's
    // to reuse (taken out while in use, like the writer).
    private static PooledBufferWriter RentBuffer()
    {
        var buffer = t_buffer ?? new PooledBufferWriter(initialCapacity: 0);
        t_buffer = null;
        buffer.Restart();
        return buffer;
    }

    private static void ReturnBuffer(PooledBufferWriter buffer)
    {
        buffer.Dispose();
        t_buffer = buffer;
    }

    private static Utf8JsonWriter RentWriter(PooledBufferWriter buffer)
    {
        var writer = t_writer;
        if (writer is null)
        {
            return new Utf8JsonWriter(buffer, s_writerOptions);
        }

        t_writer = null;
        writer.Reset(buffer);
        return writer;
    }

    private static void ReturnWriter(Utf8JsonWriter writer)
    {
        // Let go of the buffer (it goes back to its pool) and of anything written but not flushed.
        writer.Reset();
        t_writer = writer;
    }

    /// <summary>Decodes a reply value; any failure is <see cref="RpcStatusCode.DataLoss"/> naming the call.</summary>
    public static T DecodeValue<T>(ReadOnlyMemory<byte> payload, IRpcSerializer serializer, CorrelationId id)
    {
        try
        {
            var reader = new Utf8JsonReader(payload.Span, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read())
            {
                throw new JsonException("The reply has no value.");
            }

            var value = serializer.Deserialize<T>(ref reader);
            if (reader.Read())
            {
                throw new JsonException("The reply has content after its value.");
            }

            return value!;
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.DataLoss, $"The reply could not be decoded as {typeof(T).Name}: {ex.Message}"), id.ToString(), ex);
        }
    }
}
