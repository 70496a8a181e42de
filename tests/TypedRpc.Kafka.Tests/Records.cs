using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using Confluent.Kafka;
using TypedRpc.Transport;

namespace TypedRpc.Kafka.Tests;

/// <summary>Builds records as a consumer would receive them, header by header, so each test states exactly what is on the wire.</summary>
internal static class Records
{
    public const string IdHex = "0123456789abcdef00112233445566ff";
    public const long Deadline = 1_700_000_000_123;
    public const int Unlimited = int.MaxValue;

    public static readonly CorrelationId Id = CorrelationId.Parse(IdHex);

    public static ConsumeResult<byte[]?, byte[]?> Consumed(Message<byte[]?, byte[]?> message) =>
        new() { Topic = "t", Partition = new Partition(0), Offset = new Offset(0), Message = message };

    public static ConsumeResult<byte[]?, byte[]?> Consumed(Headers headers, byte[]? key = null, byte[]? value = null) =>
        Consumed(new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers });

    /// <summary>The headers of a well-formed request (<c>pricing/GetQuote</c>, reply to <c>default.replies[7]</c>), minus those named in <paramref name="without"/>.</summary>
    public static Headers Request(params string[] without)
    {
        var headers = new Headers();
        Add(headers, without, KafkaHeaders.V, new byte[] { 1 });
        Add(headers, without, KafkaHeaders.Id, Id.ToByteArray());
        Add(headers, without, KafkaHeaders.Method, Utf8("pricing/GetQuote"));
        Add(headers, without, KafkaHeaders.Reply, Address("default.replies", 7));
        Add(headers, without, KafkaHeaders.Owner, Utf8("caller-1"));
        Add(headers, without, KafkaHeaders.Deadline, Int64(Deadline));
        return headers;
    }

    /// <summary>The headers of a well-formed reply (status OK, sequence 3, not the end), minus those named in <paramref name="without"/>.</summary>
    public static Headers Reply(params string[] without)
    {
        var headers = new Headers();
        Add(headers, without, KafkaHeaders.V, new byte[] { 1 });
        Add(headers, without, KafkaHeaders.Id, Id.ToByteArray());
        Add(headers, without, KafkaHeaders.Status, new byte[] { 0 });
        Add(headers, without, KafkaHeaders.Sequence, Int32(3));
        Add(headers, without, KafkaHeaders.End, new byte[] { 0 });
        return headers;
    }

    /// <summary>The headers with one header's value replaced (or added when absent).</summary>
    public static Headers With(this Headers headers, string name, byte[] value)
    {
        var result = new Headers();
        var replaced = false;
        foreach (var header in headers)
        {
            if (header.Key == name && !replaced)
            {
                result.Add(name, value);
                replaced = true;
            }
            else if (header.Key != name)
            {
                result.Add(header.Key, header.GetValueBytes());
            }
        }

        if (!replaced)
        {
            result.Add(name, value);
        }

        return result;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static byte[] Address(string topic, int partition)
    {
        var topicBytes = Utf8(topic);
        var bytes = new byte[4 + topicBytes.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, partition);
        topicBytes.CopyTo(bytes, 4);
        return bytes;
    }

    public static byte[] Int64(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    public static byte[] Int32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>Every header's value under its name; a name that appears twice fails the test.</summary>
    public static Dictionary<string, byte[]> ByName(Headers headers)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var header in headers)
        {
            result.Add(header.Key, header.GetValueBytes());
        }

        return result;
    }

    private static void Add(Headers headers, string[] without, string name, byte[] value)
    {
        if (Array.IndexOf(without, name) < 0)
        {
            headers.Add(name, value);
        }
    }
}
