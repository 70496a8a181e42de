using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Mqtt.Tests;

/// <summary>The MQTT 5 mapping of requests and replies (docs/wire-protocol.md, "MQTT"): what is written, and what is refused.</summary>
public sealed class MqttMessagesTests
{
    private const int Unlimited = int.MaxValue;
    private const long Deadline = 1_700_000_000_123;
    private static readonly CorrelationId Id = CorrelationId.FromBytes(Convert.FromHexString("0123456789abcdef0123456789abcdef"));

    private static RpcRequest FullRequest() => new()
    {
        Id = Id,
        Service = "pricing",
        Method = "GetQuote",
        ReplyTo = new RpcReplyAddress("shop/replies/caller-1"),
        Owner = "caller-1",
        DeadlineUnixMs = Deadline,
        Payload = Encoding.UTF8.GetBytes("{\"sku\":\"AAPL\"}"),
        Key = "AAPL",
        Headers = new Dictionary<string, string>(StringComparer.Ordinal) { ["tenant"] = "t-1", ["x-empty"] = string.Empty },
        TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        TraceState = "k=v",
        Fingerprint = "00112233445566778899aabbccddeeff",
        OwnerRecordUntilUnixMs = Deadline + 60_000,
    };

    [Fact]
    public void AnEncodedRequest_IsAQos1MessageAnsweredOnItsReplyTopic_WithEveryHeaderAsText()
    {
        var message = MqttMessages.EncodeRequest(FullRequest(), "pricing/requests/GetQuote");
        var p = Properties(message);

        Assert.Equal("pricing/requests/GetQuote", message.Topic);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, message.QualityOfServiceLevel);
        Assert.Equal("shop/replies/caller-1", message.ResponseTopic);
        Assert.Equal("0123456789abcdef0123456789abcdef", Convert.ToHexStringLower(message.CorrelationData));
        Assert.Equal("{\"sku\":\"AAPL\"}", Encoding.UTF8.GetString(message.Payload.ToArray()));
        Assert.Equal(
            new[] { "trpc-v", "trpc-method", "trpc-owner", "trpc-deadline", "trpc-fp", "trpc-own-until", "trpc-key", "traceparent", "tracestate", "tenant", "x-empty" },
            message.UserProperties.Select(u => u.Name).ToArray());
        Assert.Equal("1", p["trpc-v"]);
        Assert.Equal("pricing/GetQuote", p["trpc-method"]);
        Assert.Equal("caller-1", p["trpc-owner"]);
        Assert.Equal("1700000000123", p["trpc-deadline"]);
        Assert.Equal("1700000060123", p["trpc-own-until"]);
        Assert.Equal("AAPL", p["trpc-key"]);
    }

    [Fact]
    public void ARequest_RoundTripsEveryField()
    {
        var sent = FullRequest();

        var received = MqttMessages.DecodeRequest(MqttMessages.EncodeRequest(sent, "t"), Unlimited, out var reason);

        Assert.Null(reason);
        Assert.NotNull(received);
        Assert.Null(received.DecodeError);
        Assert.Equal(Id, received.Id);
        Assert.Equal(("pricing", "GetQuote"), (received.Service, received.Method));
        Assert.Equal(new RpcReplyAddress("shop/replies/caller-1"), received.ReplyTo);
        Assert.Equal("caller-1", received.Owner);
        Assert.Equal(Deadline, received.DeadlineUnixMs);
        Assert.Equal("{\"sku\":\"AAPL\"}", Encoding.UTF8.GetString(received.Payload.Span));
        Assert.Equal("AAPL", received.Key);
        Assert.Equal(sent.Headers, received.Headers);
        Assert.Equal(sent.TraceParent, received.TraceParent);
        Assert.Equal("k=v", received.TraceState);
        Assert.Equal(sent.Fingerprint, received.Fingerprint);
        Assert.Equal(Deadline + 60_000, received.OwnerRecordUntilUnixMs);
    }

    [Fact]
    public void ARequestWithoutOptionalParts_CarriesOnlyTheRequiredProperties()
    {
        var request = new RpcRequest { Id = Id, Service = "pricing", Method = "GetQuote", ReplyTo = new RpcReplyAddress("r"), Owner = "c", DeadlineUnixMs = Deadline };

        var message = MqttMessages.EncodeRequest(request, "t");
        var received = MqttMessages.DecodeRequest(message, Unlimited, out _)!;

        Assert.Equal(new[] { "trpc-v", "trpc-method", "trpc-owner", "trpc-deadline" }, message.UserProperties.Select(u => u.Name).ToArray());
        Assert.True(message.Payload.IsEmpty);
        Assert.Null(received.DecodeError);
        Assert.Null(received.Key);
        Assert.Null(received.Headers);
        Assert.Null(received.Fingerprint);
        Assert.Equal(0, received.OwnerRecordUntilUnixMs);
    }

    public static TheoryData<string, byte[]?, string?> Unanswerable => new()
    {
        { "no correlation data", null, "r" },
        { "correlation data of 15 bytes", new byte[15], "r" },
        { "correlation data of 17 bytes", new byte[17], "r" },
        { "an empty id", new byte[16], "r" },
        { "no response topic", Convert.FromHexString("0123456789abcdef0123456789abcdef"), null },
        { "an empty response topic", Convert.FromHexString("0123456789abcdef0123456789abcdef"), "" },
        { "a wildcard response topic", Convert.FromHexString("0123456789abcdef0123456789abcdef"), "shop/replies/#" },
    };

    [Theory]
    [MemberData(nameof(Unanswerable))]
    public void ARequestNobodyCanBeAnswered_IsReportedWithTheReason(string what, byte[]? correlation, string? responseTopic)
    {
        var message = MqttMessages.EncodeRequest(FullRequest(), "t");
        message.CorrelationData = correlation;
        message.ResponseTopic = responseTopic;

        var request = MqttMessages.DecodeRequest(message, Unlimited, out var reason);

        Assert.True(request is null, what);
        Assert.StartsWith(correlation is { Length: 16 } && correlation.Any(b => b != 0) ? "missing or malformed ResponseTopic" : "missing or malformed CorrelationData", reason, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string?, string> Problems => new()
    {
        // name of the case, property, its value (null: left out), the problem the answer names
        { "version missing", "trpc-v", null, "unsupported or missing trpc-v (this server speaks version 1)" },
        { "version 2", "trpc-v", "2", "unsupported or missing trpc-v (this server speaks version 1)" },
        { "method missing", "trpc-method", null, "missing or malformed trpc-method (expected service/method)" },
        { "method without a slash", "trpc-method", "pricingGetQuote", "missing or malformed trpc-method (expected service/method)" },
        { "method with two slashes", "trpc-method", "pricing/v2/GetQuote", "missing or malformed trpc-method (expected service/method)" },
        { "method of 1,025 characters", "trpc-method", "pricing/" + new string('m', 1_017), "missing or malformed trpc-method (expected service/method)" },
        { "deadline missing", "trpc-deadline", null, "missing or malformed trpc-deadline (expected unix milliseconds in decimal)" },
        { "deadline not a number", "trpc-deadline", "soon", "missing or malformed trpc-deadline (expected unix milliseconds in decimal)" },
        { "deadline negative", "trpc-deadline", "-5", "missing or malformed trpc-deadline (expected unix milliseconds in decimal)" },
        { "deadline 0", "trpc-deadline", "0", "trpc-deadline 0 is out of range" },
        { "deadline past year 9999", "trpc-deadline", "253402300800000", "trpc-deadline 253402300800000 is out of range" },
        { "owner missing", "trpc-owner", null, "missing or malformed trpc-owner" },
        { "owner empty", "trpc-owner", "", "missing or malformed trpc-owner" },
        { "fingerprint of 31 digits", "trpc-fp", "00112233445566778899aabbccddeef", "malformed trpc-fp (expected 32 lowercase hexadecimal digits)" },
        { "fingerprint in capitals", "trpc-fp", "00112233445566778899AABBCCDDEEFF", "malformed trpc-fp (expected 32 lowercase hexadecimal digits)" },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void ARequestWithABadProperty_IsAnsweredNamingTheProblem(string what, string name, string? value, string problem)
    {
        var message = MqttMessages.EncodeRequest(FullRequest(), "t");
        message.UserProperties.RemoveAll(u => u.Name == name);
        if (value is not null)
        {
            message.UserProperties.Add(Prop(name, value));
        }

        var request = MqttMessages.DecodeRequest(message, Unlimited, out var reason);

        Assert.Null(reason);
        Assert.True(request is not null, what);
        Assert.Equal(Id, request.Id);
        Assert.Equal(problem, request.DecodeError);
        Assert.True(request.DeadlineUnixMs > 0, "a usable deadline even when the property is bad");
    }

    [Fact]
    public void ATypedRpcPropertyTwice_IsAnswered_AndAnApplicationOneTwiceKeepsTheLastValue()
    {
        var twice = MqttMessages.EncodeRequest(FullRequest(), "t");
        twice.UserProperties.Add(Prop("trpc-owner", "other"));
        Assert.Equal("user property trpc-owner appears more than once", MqttMessages.DecodeRequest(twice, Unlimited, out _)!.DecodeError);

        var application = MqttMessages.EncodeRequest(FullRequest(), "t");
        application.UserProperties.Add(Prop("tenant", "t-2"));
        var request = MqttMessages.DecodeRequest(application, Unlimited, out _)!;
        Assert.Null(request.DecodeError);
        Assert.Equal("t-2", request.Headers!["tenant"]);
    }

    [Fact]
    public void SixtyFourApplicationHeaders_AreAccepted_SixtyFiveAreNot()
    {
        RpcRequest WithHeaders(int count)
        {
            var request = FullRequest();
            var headers = Enumerable.Range(0, count).ToDictionary(i => "h" + i, i => "v", StringComparer.Ordinal);
            return MqttMessages.DecodeRequest(MqttMessages.EncodeRequest(new RpcRequest
            {
                Id = request.Id, Service = request.Service, Method = request.Method, ReplyTo = request.ReplyTo, Owner = request.Owner,
                DeadlineUnixMs = request.DeadlineUnixMs, Headers = headers,
            }, "t"), Unlimited, out _)!;
        }

        Assert.Null(WithHeaders(64).DecodeError);
        Assert.Equal("more than 64 application headers", WithHeaders(65).DecodeError);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("soon")]
    [InlineData("253402300800000")]
    public void AMalformedOwnerRecordExpiry_IsDropped_AndTheRequestStands(string value)
    {
        var message = MqttMessages.EncodeRequest(FullRequest(), "t");
        message.UserProperties.RemoveAll(u => u.Name == "trpc-own-until");
        message.UserProperties.Add(Prop("trpc-own-until", value));

        var request = MqttMessages.DecodeRequest(message, Unlimited, out _)!;

        Assert.Null(request.DecodeError);
        Assert.Equal(0, request.OwnerRecordUntilUnixMs);
    }

    [Fact]
    public void ARequestOverTheLimit_IsAnsweredWithTheSizes()
    {
        var message = MqttMessages.EncodeRequest(FullRequest(), "t");
        var size = MqttMessages.Size(message);

        Assert.Null(MqttMessages.DecodeRequest(message, (int)size, out _)!.DecodeError);
        Assert.Equal($"the message is {size} bytes; the limit is {size - 1} (TypedRpc:Mqtt:MaxMessageBytes)", MqttMessages.DecodeRequest(message, (int)size - 1, out _)!.DecodeError);
    }

    [Theory]
    [InlineData(RpcStatusCode.OK, 0, false, true, false, "42")]
    [InlineData(RpcStatusCode.OK, 3, true, false, true, "")]
    [InlineData(RpcStatusCode.OK, 1, false, true, true, "")]
    [InlineData(RpcStatusCode.Unauthenticated, int.MaxValue, true, false, false, "")]
    public void AReply_RoundTripsEveryField(RpcStatusCode status, int sequence, bool end, bool hasValue, bool ownerRecorded, string value)
    {
        var sent = new RpcReply
        {
            Id = Id,
            Status = status,
            Detail = status == RpcStatusCode.OK ? null : "détail",
            Sequence = sequence,
            IsEnd = end,
            HasValue = hasValue,
            Payload = Encoding.UTF8.GetBytes(value),
            OwnerRecorded = ownerRecorded,
        };

        var message = MqttMessages.EncodeReply(new RpcReplyAddress("shop/replies/caller-1"), sent);
        var received = MqttMessages.DecodeReply(message, Unlimited, out var reason);

        Assert.Equal("shop/replies/caller-1", message.Topic);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, message.QualityOfServiceLevel);
        Assert.Null(reason);
        Assert.NotNull(received);
        Assert.Equal((Id, status, sent.Detail, sequence, end, hasValue, ownerRecorded), (received.Id, received.Status, received.Detail, received.Sequence, received.IsEnd, received.HasValue, received.OwnerRecorded));
        Assert.Equal(hasValue ? value : string.Empty, Encoding.UTF8.GetString(received.Payload.Span));
    }

    [Fact]
    public void AReplyWithoutAValue_CarriesNoPayload_AndAnEmptyValueIsSaidSo()
    {
        var end = MqttMessages.EncodeReply(new RpcReplyAddress("r"), new RpcReply { Id = Id, Sequence = 2, IsEnd = true });
        Assert.True(end.Payload.IsEmpty);
        Assert.DoesNotContain(end.UserProperties, u => u.Name == "trpc-value");

        var empty = MqttMessages.EncodeReply(new RpcReplyAddress("r"), new RpcReply { Id = Id, HasValue = true });
        Assert.Equal("1", Properties(empty)["trpc-value"]);
        var value = MqttMessages.EncodeReply(new RpcReplyAddress("r"), new RpcReply { Id = Id, HasValue = true, Payload = new byte[] { 1 } });
        Assert.DoesNotContain(value.UserProperties, u => u.Name == "trpc-value");
    }

    [Fact]
    public void ADetailOver4000Characters_IsCut()
    {
        var message = MqttMessages.EncodeReply(new RpcReplyAddress("r"), RpcReply.Error(Id, new RpcStatus(RpcStatusCode.Internal, new string('é', 4_001))));

        Assert.Equal(new string('é', 4_000), Properties(message)["trpc-detail"]);
    }

    public static TheoryData<string, string, string?, string> ReplyProblems => new()
    {
        { "version missing", "trpc-v", null, "unsupported or missing trpc-v" },
        { "status missing", "trpc-status", null, "missing or malformed trpc-status" },
        { "status 17", "trpc-status", "17", "missing or malformed trpc-status" },
        { "status negative", "trpc-status", "-1", "missing or malformed trpc-status" },
        { "sequence missing", "trpc-seq", null, "missing or malformed trpc-seq" },
        { "sequence negative", "trpc-seq", "-1", "missing or malformed trpc-seq" },
        { "sequence not a number", "trpc-seq", "x", "missing or malformed trpc-seq" },
        { "end missing", "trpc-end", null, "missing or malformed trpc-end" },
        { "end 2", "trpc-end", "2", "missing or malformed trpc-end" },
    };

    [Theory]
    [MemberData(nameof(ReplyProblems))]
    public void AReplyWithABadProperty_EndsItsCallWithDataLoss(string what, string name, string? value, string problem)
    {
        var message = MqttMessages.EncodeReply(new RpcReplyAddress("r"), new RpcReply { Id = Id, HasValue = true, Payload = new byte[] { 1 }, IsEnd = true });
        message.UserProperties.RemoveAll(u => u.Name == name);
        if (value is not null)
        {
            message.UserProperties.Add(Prop(name, value));
        }

        var reply = MqttMessages.DecodeReply(message, Unlimited, out var reason);

        Assert.True(reply is not null, what);
        Assert.Equal(problem, reason);
        Assert.Equal((Id, RpcStatusCode.DataLoss, true, int.MaxValue), (reply.Id, reply.Status, reply.IsEnd, reply.Sequence));
        Assert.Equal("The reply message is malformed: " + problem, reply.Detail);
    }

    [Fact]
    public void AReplyWithoutAUsableId_IsNoReply()
    {
        var message = MqttMessages.EncodeReply(new RpcReplyAddress("r"), new RpcReply { Id = Id, IsEnd = true });
        message.CorrelationData = new byte[3];

        Assert.Null(MqttMessages.DecodeReply(message, Unlimited, out var reason));
        Assert.StartsWith("missing or malformed CorrelationData", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AReceivedPayload_IsAnArrayOfItsOwn()
    {
        var buffer = Encoding.UTF8.GetBytes("{\"a\":1}");
        var message = MqttMessages.EncodeReply(new RpcReplyAddress("r"), new RpcReply { Id = Id, HasValue = true, Payload = buffer, IsEnd = true });
        message.Payload = new ReadOnlySequence<byte>(buffer);

        var reply = MqttMessages.DecodeReply(message, Unlimited, out _)!;
        buffer[0] = (byte)'x';

        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(reply.Payload.Span));
    }

    private static MqttUserProperty Prop(string name, string value) => new(name, Encoding.UTF8.GetBytes(value));

    private static Dictionary<string, string> Properties(MqttApplicationMessage message) =>
        message.UserProperties.ToDictionary(u => u.Name, u => u.ReadValueAsString(), StringComparer.Ordinal);
}
