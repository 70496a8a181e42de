using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedRpc.Transport;

namespace TypedRpc.Mqtt;

/// <summary>
/// The MQTT 5 mapping of requests and replies (docs/wire-protocol.md, "MQTT"): the correlation id
/// is the message's CorrelationData, the caller's reply topic its ResponseTopic, and the
/// <c>trpc-*</c> headers are user properties — as text, since MQTT user properties are UTF-8
/// strings. Decoding never throws: a message it cannot use is reported with the reason.
/// </summary>
internal static class MqttMessages
{
    public const string Version = "1";
    public const string V = "trpc-v";
    public const string Method = "trpc-method";
    public const string Owner = "trpc-owner";
    public const string Deadline = "trpc-deadline";
    public const string Fingerprint = "trpc-fp";
    public const string OwnerUntil = "trpc-own-until";
    public const string Key = "trpc-key";
    public const string Status = "trpc-status";
    public const string Detail = "trpc-detail";
    public const string Sequence = "trpc-seq";
    public const string End = "trpc-end";
    public const string Value = "trpc-value";
    public const string OwnerRecorded = "trpc-owned";
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";
    private const int MaxTextProperty = 1_024;
    private const int MaxDetail = 4_000;
    private const int MaxApplicationHeaders = 64;

    private static readonly byte[] s_version = "1"u8.ToArray();
    private static readonly byte[] s_one = "1"u8.ToArray();
    private static readonly byte[] s_zero = "0"u8.ToArray();

    /// <summary>A request as a QoS 1 message to <paramref name="topic"/>, answered on its reply address's topic.</summary>
    public static MqttApplicationMessage EncodeRequest(RpcRequest request, string topic)
    {
        var properties = new List<MqttUserProperty>(8 + (request.Headers?.Count ?? 0))
        {
            Text(V, s_version),
            Text(Method, request.FullMethodName),
            Text(Owner, request.Owner),
            Text(Deadline, request.DeadlineUnixMs.ToString(CultureInfo.InvariantCulture)),
        };
        if (request.Fingerprint is not null)
        {
            properties.Add(Text(Fingerprint, request.Fingerprint));
        }

        if (request.OwnerRecordUntilUnixMs > 0)
        {
            properties.Add(Text(OwnerUntil, request.OwnerRecordUntilUnixMs.ToString(CultureInfo.InvariantCulture)));
        }

        if (request.Key is not null)
        {
            properties.Add(Text(Key, request.Key));
        }

        if (request.TraceParent is not null)
        {
            properties.Add(Text(TraceParent, request.TraceParent));
        }

        if (request.TraceState is not null)
        {
            properties.Add(Text(TraceState, request.TraceState));
        }

        if (request.Headers is not null)
        {
            foreach (var (name, value) in request.Headers)
            {
                properties.Add(Text(name, value));
            }
        }

        return new MqttApplicationMessage
        {
            Topic = topic,
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            ResponseTopic = request.ReplyTo.Destination,
            CorrelationData = request.Id.ToByteArray(),
            Payload = new ReadOnlySequence<byte>(request.Payload),
            UserProperties = properties,
        };
    }

    /// <summary>A reply message as a QoS 1 message to the caller's reply topic.</summary>
    public static MqttApplicationMessage EncodeReply(RpcReplyAddress address, RpcReply reply)
    {
        var properties = new List<MqttUserProperty>(6)
        {
            Text(V, s_version),
            Text(Status, ((int)reply.Status).ToString(CultureInfo.InvariantCulture)),
            Text(Sequence, reply.Sequence.ToString(CultureInfo.InvariantCulture)),
            Text(End, reply.IsEnd ? s_one : s_zero),
        };
        if (!string.IsNullOrEmpty(reply.Detail))
        {
            properties.Add(Text(Detail, reply.Detail.Length <= MaxDetail ? reply.Detail : reply.Detail[..MaxDetail]));
        }

        // A value is any non-empty payload; only an empty value needs saying so (MQTT has no null payload).
        if (reply.HasValue && reply.Payload.IsEmpty)
        {
            properties.Add(Text(Value, s_one));
        }

        if (reply.OwnerRecorded)
        {
            properties.Add(Text(OwnerRecorded, s_one));
        }

        return new MqttApplicationMessage
        {
            Topic = address.Destination,
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            CorrelationData = reply.Id.ToByteArray(),
            Payload = reply.HasValue ? new ReadOnlySequence<byte>(reply.Payload) : ReadOnlySequence<byte>.Empty,
            UserProperties = properties,
        };
    }

    /// <summary>
    /// Decodes a request message. <see langword="null"/> with a reason when nobody can be answered
    /// (no usable CorrelationData or ResponseTopic); any other problem leaves the request's
    /// <see cref="RpcRequest.DecodeError"/> set, so the server answers it with the problem.
    /// </summary>
    public static RpcRequest? DecodeRequest(MqttApplicationMessage message, int maxBytes, out string? reason)
    {
        reason = null;
        if (!TryId(message.CorrelationData, out var id))
        {
            reason = "missing or malformed CorrelationData (expected the 16-byte correlation id)";
            return null;
        }

        if (string.IsNullOrEmpty(message.ResponseTopic) || message.ResponseTopic.Length > 65_535 || message.ResponseTopic.AsSpan().IndexOfAny('+', '#') >= 0)
        {
            reason = "missing or malformed ResponseTopic";
            return null;
        }

        var p = Collect(message.UserProperties, out var duplicate, out var application);
        var problem = TooLarge(message, maxBytes)
            ?? (duplicate is not null ? $"user property {duplicate} appears more than once" : null)
            ?? (!p.TryGetValue(V, out var v) || v != Version ? $"unsupported or missing {V} (this server speaks version {Version})" : null);
        var service = string.Empty;
        var method = string.Empty;
        long deadline = 0;
        var owner = string.Empty;
        if (problem is null)
        {
            problem = ReadMethod(p, out service, out method) ?? ReadDeadline(p, out deadline) ?? ReadOwner(p, out owner);
        }

        var fingerprint = ReadFingerprint(p, ref problem);
        if (problem is null && application is { Count: > MaxApplicationHeaders })
        {
            problem = $"more than {MaxApplicationHeaders} application headers";
        }

        return new RpcRequest
        {
            Id = id,
            Service = service,
            Method = method,
            ReplyTo = new RpcReplyAddress(message.ResponseTopic),
            Owner = owner.Length == 0 ? "unknown" : owner,
            DeadlineUnixMs = deadline == 0 ? DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds() : deadline,
            Payload = Bytes(message.Payload),
            Key = p.TryGetValue(Key, out var key) ? key : null,
            Headers = application,
            TraceParent = p.TryGetValue(TraceParent, out var traceParent) ? traceParent : null,
            TraceState = p.TryGetValue(TraceState, out var traceState) ? traceState : null,
            Fingerprint = fingerprint,
            OwnerRecordUntilUnixMs = ReadOwnerUntil(p),
            DecodeError = problem,
        };
    }

    /// <summary>
    /// Decodes a reply message. <see langword="null"/> with a reason without a usable correlation
    /// id; a message with a usable id but bad properties, or larger than <paramref name="maxBytes"/>,
    /// becomes a DataLoss reply for its call (and <paramref name="reason"/> says why).
    /// </summary>
    public static RpcReply? DecodeReply(MqttApplicationMessage message, int maxBytes, out string? reason)
    {
        reason = null;
        if (!TryId(message.CorrelationData, out var id))
        {
            reason = "missing or malformed CorrelationData (expected the 16-byte correlation id)";
            return null;
        }

        var p = Collect(message.UserProperties, out var duplicate, out _);
        var problem = TooLarge(message, maxBytes)
            ?? (duplicate is not null ? $"user property {duplicate} appears more than once" : null)
            ?? (!p.TryGetValue(V, out var v) || v != Version ? $"unsupported or missing {V}" : null);
        var status = 0;
        var sequence = 0;
        var end = false;
        if (problem is null && (!p.TryGetValue(Status, out var s) || !TryDecimal(s, out status) || status > 16))
        {
            problem = $"missing or malformed {Status}";
        }

        if (problem is null && (!p.TryGetValue(Sequence, out var q) || !TryDecimal(q, out sequence)))
        {
            problem = $"missing or malformed {Sequence}";
        }

        if (problem is null && (!p.TryGetValue(End, out var e) || e is not ("0" or "1")))
        {
            problem = $"missing or malformed {End}";
        }
        else if (problem is null)
        {
            end = p[End] == "1";
        }

        if (problem is not null)
        {
            reason = problem;
            // The waiter must not hang until its deadline for a reply that will never be readable.
            return RpcReply.Error(id, new RpcStatus(RpcStatusCode.DataLoss, "The reply message is malformed: " + problem), int.MaxValue);
        }

        var payload = Bytes(message.Payload);
        return new RpcReply
        {
            Id = id,
            Status = (RpcStatusCode)status,
            Detail = p.TryGetValue(Detail, out var detail) ? detail : null,
            Sequence = sequence,
            IsEnd = end,
            HasValue = !payload.IsEmpty || (p.TryGetValue(Value, out var value) && value == "1"),
            Payload = payload,
            OwnerRecorded = p.TryGetValue(OwnerRecorded, out var owned) && owned == "1",
        };
    }

    /// <summary>The size the broker sees of what TypedRpc controls: topic, payload, correlation data and user properties.</summary>
    public static long Size(MqttApplicationMessage message)
    {
        long size = message.Topic.Length + (message.ResponseTopic?.Length ?? 0) + message.Payload.Length + (message.CorrelationData?.Length ?? 0);
        if (message.UserProperties is { } properties)
        {
            foreach (var property in properties)
            {
                size += property.Name.Length + property.ValueBuffer.Length;
            }
        }

        return size;
    }

    private static string? TooLarge(MqttApplicationMessage message, int maxBytes)
    {
        var size = Size(message);
        return size > maxBytes ? $"the message is {size} bytes; the limit is {maxBytes} (TypedRpc:Mqtt:MaxMessageBytes)" : null;
    }

    private static string? ReadMethod(Dictionary<string, string> p, out string service, out string method)
    {
        service = string.Empty;
        method = string.Empty;
        if (!p.TryGetValue(Method, out var full) || full.Length > MaxTextProperty)
        {
            return $"missing or malformed {Method} (expected service/method)";
        }

        var slash = full.IndexOf('/');
        if (slash <= 0 || slash == full.Length - 1 || full.IndexOf('/', slash + 1) >= 0)
        {
            return $"missing or malformed {Method} (expected service/method)";
        }

        service = full[..slash];
        method = full[(slash + 1)..];
        return null;
    }

    private static string? ReadDeadline(Dictionary<string, string> p, out long deadline)
    {
        deadline = 0;
        if (!p.TryGetValue(Deadline, out var text) || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out deadline))
        {
            deadline = 0;
            return $"missing or malformed {Deadline} (expected unix milliseconds in decimal)";
        }

        if (deadline <= 0 || deadline > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            var problem = $"{Deadline} {deadline} is out of range";
            deadline = 0;
            return problem;
        }

        return null;
    }

    private static string? ReadOwner(Dictionary<string, string> p, out string owner)
    {
        owner = p.TryGetValue(Owner, out var text) && text.Length is > 0 and <= MaxTextProperty ? text : string.Empty;
        return owner.Length > 0 ? null : $"missing or malformed {Owner}";
    }

    // Read even when an earlier property was bad; a malformed one is reported only if nothing else was.
    private static string? ReadFingerprint(Dictionary<string, string> p, ref string? problem)
    {
        if (!p.TryGetValue(Fingerprint, out var text))
        {
            return null;
        }

        if (text.Length == 32 && IsLowerHex(text))
        {
            return text;
        }

        problem ??= $"malformed {Fingerprint} (expected 32 lowercase hexadecimal digits)";
        return null;
    }

    // Optional: a malformed or out-of-range one is dropped (the caller then keeps recording its owner itself).
    private static long ReadOwnerUntil(Dictionary<string, string> p) =>
        p.TryGetValue(OwnerUntil, out var text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var until)
            && until > 0 && until <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? until
            : 0;

    private static Dictionary<string, string> Collect(List<MqttUserProperty>? properties, out string? duplicate, out Dictionary<string, string>? application)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        duplicate = null;
        application = null;
        if (properties is null)
        {
            return result;
        }

        foreach (var property in properties)
        {
            var value = property.ReadValueAsString();
            if (property.Name.StartsWith("trpc-", StringComparison.Ordinal) || property.Name is TraceParent or TraceState)
            {
                if (!result.TryAdd(property.Name, value))
                {
                    duplicate ??= property.Name;
                }
            }
            else
            {
                // MQTT allows a name twice; as with Kafka headers, the last value counts.
                application ??= new Dictionary<string, string>(StringComparer.Ordinal);
                application[property.Name] = value;
            }
        }

        return result;
    }

    // User property values are UTF-8 text on the wire; MQTTnet takes them as bytes.
    private static MqttUserProperty Text(string name, string value) => new(name, Encoding.UTF8.GetBytes(value));

    private static MqttUserProperty Text(string name, byte[] value) => new(name, value);

    private static bool TryId(byte[]? data, out CorrelationId id)
    {
        id = default;
        if (data is not { Length: CorrelationId.Size })
        {
            return false;
        }

        id = CorrelationId.FromBytes(data);
        return !id.IsEmpty;
    }

    private static bool TryDecimal(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static bool IsLowerHex(string text)
    {
        foreach (var c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    // A message's payload as an array of its own: the engine keeps a request's or reply's payload
    // beyond the receive handler (a claim's stored replies, a stream's buffer), and the client
    // library's buffers are not promised to outlive the handler.
    private static ReadOnlyMemory<byte> Bytes(ReadOnlySequence<byte> payload) =>
        payload.IsEmpty ? ReadOnlyMemory<byte>.Empty : payload.ToArray();
}
