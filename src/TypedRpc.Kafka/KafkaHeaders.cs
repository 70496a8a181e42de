using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using TypedRpc.Transport;

namespace TypedRpc.Kafka;

/// <summary>
/// The record format (docs/wire-protocol.md): binary-safe <c>trpc-*</c> headers, versioned by
/// <c>trpc-v</c>. Decoding never throws: a record it cannot use is reported with the reason.
/// </summary>
internal static class KafkaHeaders
{
    public const byte Version = 1;
    public const string V = "trpc-v";
    public const string Id = "trpc-id";
    public const string Method = "trpc-method";
    public const string Reply = "trpc-reply";
    public const string Owner = "trpc-owner";
    public const string Deadline = "trpc-deadline";
    public const string Fingerprint = "trpc-fp";
    public const string OwnerUntil = "trpc-own-until";
    public const string OwnerRecorded = "trpc-owned";
    public const string Status = "trpc-status";
    public const string Detail = "trpc-detail";
    public const string Sequence = "trpc-seq";
    public const string End = "trpc-end";
    public const string DeadLetterReason = "trpc-dead-letter-reason";
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";
    private const int MaxTextHeaderBytes = 1_024;
    private const int MaxApplicationHeaders = 64;

    private static readonly byte[] s_version = { Version };
    private static readonly byte[] s_true = { 1 };
    private static readonly byte[] s_false = { 0 };

    public static Message<byte[]?, byte[]?> EncodeRequest(RpcRequest request)
    {
        var headers = new Headers
        {
            { V, s_version },
            { Id, request.Id.ToByteArray() },
            { Method, Encoding.UTF8.GetBytes(request.FullMethodName) },
            { Reply, EncodeAddress(request.ReplyTo) },
            { Owner, Encoding.UTF8.GetBytes(request.Owner) },
            { Deadline, Int64(request.DeadlineUnixMs) },
        };
        if (request.Fingerprint is not null)
        {
            headers.Add(Fingerprint, Convert.FromHexString(request.Fingerprint));
        }

        if (request.OwnerRecordUntilUnixMs > 0)
        {
            headers.Add(OwnerUntil, Int64(request.OwnerRecordUntilUnixMs));
        }

        if (request.TraceParent is not null)
        {
            headers.Add(TraceParent, Encoding.UTF8.GetBytes(request.TraceParent));
        }

        if (request.TraceState is not null)
        {
            headers.Add(TraceState, Encoding.UTF8.GetBytes(request.TraceState));
        }

        if (request.Headers is not null)
        {
            foreach (var (name, value) in request.Headers)
            {
                headers.Add(name, Encoding.UTF8.GetBytes(value));
            }
        }

        return new Message<byte[]?, byte[]?>
        {
            Key = request.Key is not null ? Encoding.UTF8.GetBytes(request.Key) : request.Id.ToByteArray(),
            Value = WholeArray(request.Payload),
            Headers = headers,
        };
    }

    public static Message<byte[]?, byte[]?> EncodeReply(RpcReply reply)
    {
        var headers = new Headers
        {
            { V, s_version },
            { Id, reply.Id.ToByteArray() },
            { Status, new[] { (byte)reply.Status } },
            { Sequence, Int32(reply.Sequence) },
            { End, reply.IsEnd ? s_true : s_false },
        };
        if (reply.OwnerRecorded)
        {
            headers.Add(OwnerRecorded, s_true);
        }

        if (!string.IsNullOrEmpty(reply.Detail))
        {
            headers.Add(Detail, Encoding.UTF8.GetBytes(Truncate(reply.Detail, 4_000)));
        }

        return new Message<byte[]?, byte[]?>
        {
            Key = reply.Id.ToByteArray(),
            // A null value means "no value" (an acknowledgement or an end message); an empty array would be a value.
            Value = reply.HasValue ? WholeArray(reply.Payload) : null,
            Headers = headers,
        };
    }

    // librdkafka copies a value while it is produced, before ProduceAsync returns, so a payload that
    // is a whole array (a reply value always is) goes as it is instead of being copied once more.
    private static byte[] WholeArray(ReadOnlyMemory<byte> payload) =>
        MemoryMarshal.TryGetArray(payload, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : payload.ToArray();

    /// <summary>The size the broker sees: key, value and headers.</summary>
    public static int Size(Message<byte[]?, byte[]?> message)
    {
        var size = (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0);
        foreach (var header in message.Headers)
        {
            size += header.Key.Length + (header.GetValueBytes()?.Length ?? 0);
        }

        return size;
    }

    /// <summary>
    /// Decodes a request record. <see langword="null"/> with a reason when even the id or the reply
    /// address is unusable; a record larger than <paramref name="maxBytes"/> (written by a producer
    /// with a larger limit) is refused: decoded no further and answered with the problem.
    /// </summary>
    public static RpcRequest? DecodeRequest(ConsumeResult<byte[]?, byte[]?> record, int maxBytes, out string? reason)
    {
        var h = Collect(record.Message.Headers, out var duplicate, out var application);
        reason = null;
        if (!TryId(h, out var id))
        {
            reason = "missing or malformed trpc-id";
            return null;
        }

        if (!h.TryGetValue(Reply, out var replyBytes) || !TryDecodeAddress(replyBytes, out var replyTo))
        {
            reason = "missing or malformed trpc-reply";
            return null;
        }

        // The first problem found is the one reported; fields after it keep their defaults.
        var problem = TooLarge(record.Message, maxBytes)
            ?? (duplicate is not null ? $"header {duplicate} appears more than once" : null)
            ?? (!h.TryGetValue(V, out var v) || v.Length != 1 || v[0] != Version ? $"unsupported or missing {V} (this server speaks version {Version})" : null);
        var service = string.Empty;
        var method = string.Empty;
        long deadline = 0;
        var owner = string.Empty;
        if (problem is null)
        {
            problem = ReadMethod(h, out service, out method) ?? ReadDeadline(h, out deadline) ?? ReadOwner(h, out owner);
        }

        var fingerprint = ReadFingerprint(h, ref problem);
        var ownerUntil = ReadOwnerUntil(h);
        var traceParent = h.TryGetValue(TraceParent, out var tp) && TryText(tp, out var tpText) ? tpText : null;
        var traceState = h.TryGetValue(TraceState, out var ts) && TryText(ts, out var tsText) ? tsText : null;
        if (problem is null && application is { Count: > MaxApplicationHeaders })
        {
            problem = $"more than {MaxApplicationHeaders} application headers";
        }

        string? key = null;
        if (record.Message.Key is { Length: > 0 } keyBytes && !(keyBytes.Length == CorrelationId.Size && CorrelationId.FromBytes(keyBytes) == id))
        {
            key = Encoding.UTF8.GetString(keyBytes);
        }

        return new RpcRequest
        {
            Id = id,
            Service = service,
            Method = method,
            ReplyTo = replyTo,
            Owner = owner.Length == 0 ? "unknown" : owner,
            DeadlineUnixMs = deadline == 0 ? DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds() : deadline,
            Payload = record.Message.Value ?? Array.Empty<byte>(),
            Key = key,
            Headers = application,
            TraceParent = traceParent,
            TraceState = traceState,
            Fingerprint = fingerprint,
            OwnerRecordUntilUnixMs = ownerUntil,
            DecodeError = problem,
        };
    }

    private static string? ReadMethod(Dictionary<string, byte[]> h, out string service, out string method)
    {
        service = string.Empty;
        method = string.Empty;
        return h.TryGetValue(Method, out var bytes) && TryText(bytes, out var full) && SplitMethod(full, out service, out method)
            ? null
            : $"missing or malformed {Method} (expected service/method)";
    }

    private static string? ReadDeadline(Dictionary<string, byte[]> h, out long deadline)
    {
        deadline = 0;
        if (!h.TryGetValue(Deadline, out var bytes) || bytes.Length != 8)
        {
            return $"missing or malformed {Deadline} (expected 8 bytes, unix ms)";
        }

        deadline = BinaryPrimitives.ReadInt64BigEndian(bytes);
        return deadline <= 0 || deadline > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds() ? $"{Deadline} {deadline} is out of range" : null;
    }

    private static string? ReadOwner(Dictionary<string, byte[]> h, out string owner)
    {
        owner = string.Empty;
        return h.TryGetValue(Owner, out var bytes) && TryText(bytes, out owner) && owner.Length > 0 ? null : $"missing or malformed {Owner}";
    }

    // Read even when an earlier header was bad; a malformed one is reported only if nothing else was.
    private static string? ReadFingerprint(Dictionary<string, byte[]> h, ref string? problem)
    {
        if (!h.TryGetValue(Fingerprint, out var bytes))
        {
            return null;
        }

        if (bytes.Length == 16)
        {
            return Convert.ToHexStringLower(bytes);
        }

        problem ??= $"malformed {Fingerprint} (expected 16 bytes)";
        return null;
    }

    // Optional: a malformed or out-of-range one is dropped (the caller then keeps recording its owner itself).
    private static long ReadOwnerUntil(Dictionary<string, byte[]> h)
    {
        if (!h.TryGetValue(OwnerUntil, out var bytes) || bytes.Length != 8)
        {
            return 0;
        }

        var until = BinaryPrimitives.ReadInt64BigEndian(bytes);
        return until > 0 && until <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds() ? until : 0;
    }

    /// <summary>
    /// Decodes a reply record. A record with a usable id but bad headers, or larger than
    /// <paramref name="maxBytes"/>, becomes a DataLoss reply for its call (and <paramref name="reason"/> says why).
    /// </summary>
    public static RpcReply? DecodeReply(ConsumeResult<byte[]?, byte[]?> record, int maxBytes, out string? reason)
    {
        var h = Collect(record.Message.Headers, out var duplicate, out _);
        reason = null;
        if (!TryId(h, out var id))
        {
            reason = "missing or malformed trpc-id";
            return null;
        }

        string? problem = TooLarge(record.Message, maxBytes);
        if (problem is null && duplicate is not null)
        {
            problem = $"header {duplicate} appears more than once";
        }

        if (problem is null && (!h.TryGetValue(V, out var v) || v.Length != 1 || v[0] != Version))
        {
            problem = $"unsupported or missing {V}";
        }

        if (problem is null && (!h.TryGetValue(Status, out var status) || status.Length != 1 || status[0] > 16))
        {
            problem = $"missing or malformed {Status}";
        }

        if (problem is null && (!h.TryGetValue(Sequence, out var seq) || seq.Length != 4 || BinaryPrimitives.ReadInt32BigEndian(seq) < 0))
        {
            problem = $"missing or malformed {Sequence}";
        }

        if (problem is null && (!h.TryGetValue(End, out var end) || end.Length != 1 || end[0] > 1))
        {
            problem = $"missing or malformed {End}";
        }

        if (problem is not null)
        {
            reason = problem;
            // The waiter must not hang until its deadline for a reply that will never be readable.
            return RpcReply.Error(id, new RpcStatus(RpcStatusCode.DataLoss, "The reply record is malformed: " + problem), int.MaxValue);
        }

        string? detail = null;
        if (h.TryGetValue(Detail, out var detailBytes))
        {
            TryText(detailBytes, out detail, 4_096);
        }

        return new RpcReply
        {
            Id = id,
            Status = (RpcStatusCode)h[Status][0],
            Detail = detail,
            Sequence = BinaryPrimitives.ReadInt32BigEndian(h[Sequence]),
            IsEnd = h[End][0] == 1,
            // Optional: anything but the single byte 1 reads as "not recorded".
            OwnerRecorded = h.TryGetValue(OwnerRecorded, out var owned) && owned is [1],
            HasValue = record.Message.Value is not null,
            Payload = record.Message.Value ?? default(ReadOnlyMemory<byte>),
        };
    }

    private static string? TooLarge(Message<byte[]?, byte[]?> message, int maxBytes)
    {
        var size = Size(message);
        return size > maxBytes ? $"the record is {size} bytes; the limit is {maxBytes} (TypedRpc:Kafka:MaxMessageBytes)" : null;
    }

    public static byte[] EncodeAddress(RpcReplyAddress address)
    {
        var topic = Encoding.UTF8.GetBytes(address.Destination);
        var bytes = new byte[4 + topic.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, address.Partition);
        topic.CopyTo(bytes, 4);
        return bytes;
    }

    private static bool TryDecodeAddress(byte[] bytes, out RpcReplyAddress address)
    {
        address = default;
        if (bytes.Length < 5 || bytes.Length > 4 + 249)
        {
            return false;
        }

        var partition = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (partition < -1 || !TryText(bytes.AsSpan(4).ToArray(), out var topic) || topic.Length == 0)
        {
            return false;
        }

        address = new RpcReplyAddress(topic, partition);
        return true;
    }

    private static Dictionary<string, byte[]> Collect(Headers? headers, out string? duplicate, out Dictionary<string, string>? application)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        duplicate = null;
        application = null;
        if (headers is null)
        {
            return result;
        }

        foreach (var header in headers)
        {
            var value = header.GetValueBytes() ?? Array.Empty<byte>();
            if (header.Key.StartsWith("trpc-", StringComparison.Ordinal) || header.Key is TraceParent or TraceState)
            {
                if (!result.TryAdd(header.Key, value))
                {
                    duplicate ??= header.Key;
                }
            }
            else if (TryText(value, out var text))
            {
                application ??= new Dictionary<string, string>(StringComparer.Ordinal);
                application[header.Key] = text;
            }
        }

        return result;
    }

    private static bool TryId(Dictionary<string, byte[]> headers, out CorrelationId id)
    {
        id = default;
        if (!headers.TryGetValue(Id, out var bytes) || bytes.Length != CorrelationId.Size)
        {
            return false;
        }

        id = CorrelationId.FromBytes(bytes);
        return !id.IsEmpty;
    }

    private static bool SplitMethod(string full, out string service, out string method)
    {
        var slash = full.IndexOf('/');
        service = slash > 0 ? full[..slash] : string.Empty;
        method = slash > 0 ? full[(slash + 1)..] : string.Empty;
        return slash > 0 && slash < full.Length - 1 && full.IndexOf('/', slash + 1) < 0;
    }

    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static bool TryText(byte[] bytes, out string text, int max = MaxTextHeaderBytes)
    {
        text = string.Empty;
        if (bytes.Length > max)
        {
            return false;
        }

        try
        {
            text = s_strict.GetString(bytes);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static byte[] Int64(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] Int32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
