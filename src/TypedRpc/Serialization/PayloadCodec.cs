using System;
using System.Text.Json;

namespace TypedRpc.Serialization;

/// <summary>Encodes arguments and values into JSON payloads, and decodes reply values.</summary>
internal static class PayloadCodec
{
    private static readonly JsonWriterOptions s_writerOptions = new() { SkipValidation = true };

    public static PooledBufferWriter EncodeArguments<TArgs>(in TArgs args, IRpcSerializer serializer)
        where TArgs : struct, IRpcArguments
    {
        var buffer = new PooledBufferWriter();
        try
        {
            using var writer = new Utf8JsonWriter(buffer, s_writerOptions);
            args.WriteTo(writer, serializer);
            writer.Flush();
            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    public static byte[] EncodeValue<T>(T value, IRpcSerializer serializer)
    {
        using var buffer = new PooledBufferWriter();
        using (var writer = new Utf8JsonWriter(buffer, s_writerOptions))
        {
            serializer.Serialize(writer, value);
        }

        return buffer.ToArray();
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
