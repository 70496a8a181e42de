using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Confluent.Kafka;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Kafka.Tests.Records;

namespace TypedRpc.Kafka.Tests;

/// <summary>The request record (docs/wire-protocol.md, "Request record"): what is written, and what a server refuses.</summary>
public sealed class KafkaHeadersRequestTests
{
    private static readonly byte[] s_badUtf8 = { 0xC3, 0x28 };

    private static RpcRequest FullRequest() => new()
    {
        Id = Id,
        Service = "pricing",
        Method = "GetQuote",
        ReplyTo = new RpcReplyAddress("default.replies", 7),
        Owner = "caller-1",
        DeadlineUnixMs = Deadline,
        Payload = Utf8("{\"sku\":\"AAPL\"}"),
        Key = "AAPL",
        Headers = new Dictionary<string, string>(StringComparer.Ordinal) { ["tenant"] = "t-1", ["x-empty"] = string.Empty },
        TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        TraceState = "k=v",
        Fingerprint = "00112233445566778899aabbccddeeff",
        OwnerRecordUntilUnixMs = Deadline + 60_000,
    };

    [Fact]
    public void Encode_WritesEveryHeaderInItsWireForm()
    {
        var message = KafkaHeaders.EncodeRequest(FullRequest());
        var headers = ByName(message.Headers);

        Assert.Equal(
            new[] { "trpc-v", "trpc-id", "trpc-method", "trpc-reply", "trpc-owner", "trpc-deadline", "trpc-fp", "trpc-own-until", "traceparent", "tracestate", "tenant", "x-empty" },
            message.Headers.Select(h => h.Key).ToArray());
        Assert.Equal(new byte[] { 1 }, headers["trpc-v"]);
        Assert.Equal(IdHex, Convert.ToHexStringLower(headers["trpc-id"]));
        Assert.Equal("pricing/GetQuote", Encoding.UTF8.GetString(headers["trpc-method"]));
        Assert.Equal(new byte[] { 0, 0, 0, 7 }.Concat(Utf8("default.replies")).ToArray(), headers["trpc-reply"]);
        Assert.Equal("caller-1", Encoding.UTF8.GetString(headers["trpc-owner"]));
        Assert.Equal(new byte[] { 0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B }, headers["trpc-deadline"]);
        Assert.Equal("00112233445566778899aabbccddeeff", Convert.ToHexStringLower(headers["trpc-fp"]));
        Assert.Equal(new byte[] { 0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE6, 0x52, 0xDB }, headers["trpc-own-until"]);
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", Encoding.UTF8.GetString(headers["traceparent"]));
        Assert.Equal("k=v", Encoding.UTF8.GetString(headers["tracestate"]));
        Assert.Equal("t-1", Encoding.UTF8.GetString(headers["tenant"]));
        Assert.Empty(headers["x-empty"]);
        Assert.Equal("AAPL", Encoding.UTF8.GetString(message.Key!));
        Assert.Equal("{\"sku\":\"AAPL\"}", Encoding.UTF8.GetString(message.Value!));
    }

    [Fact]
    public void Encode_WithoutKeyOrOptionalParts_KeysByTheIdAndWritesOnlyTheRequiredHeaders()
    {
        var request = new RpcRequest
        {
            Id = Id,
            Service = "pricing",
            Method = "GetQuote",
            ReplyTo = new RpcReplyAddress("default.replies"),
            Owner = "caller-1",
            DeadlineUnixMs = Deadline,
        };

        var message = KafkaHeaders.EncodeRequest(request);

        Assert.Equal(new[] { "trpc-v", "trpc-id", "trpc-method", "trpc-reply", "trpc-owner", "trpc-deadline" }, message.Headers.Select(h => h.Key).ToArray());
        Assert.Equal(IdHex, Convert.ToHexStringLower(message.Key!));
        Assert.Equal(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }.Concat(Utf8("default.replies")).ToArray(), ByName(message.Headers)["trpc-reply"]);
        Assert.Empty(message.Value!);
    }

    [Fact]
    public void RoundTrip_KeepsEveryField()
    {
        var sent = FullRequest();

        var received = KafkaHeaders.DecodeRequest(Consumed(KafkaHeaders.EncodeRequest(sent)), Unlimited, out var reason);

        Assert.Null(reason);
        Assert.NotNull(received);
        Assert.Null(received.DecodeError);
        Assert.Equal(Id, received.Id);
        Assert.Equal("pricing", received.Service);
        Assert.Equal("GetQuote", received.Method);
        Assert.Equal(new RpcReplyAddress("default.replies", 7), received.ReplyTo);
        Assert.Equal("caller-1", received.Owner);
        Assert.Equal(Deadline, received.DeadlineUnixMs);
        Assert.Equal("{\"sku\":\"AAPL\"}", Encoding.UTF8.GetString(received.Payload.Span));
        Assert.Equal("AAPL", received.Key);
        Assert.Equal(new Dictionary<string, string> { ["tenant"] = "t-1", ["x-empty"] = string.Empty }, received.Headers);
        Assert.Equal(sent.TraceParent, received.TraceParent);
        Assert.Equal("k=v", received.TraceState);
        Assert.Equal("00112233445566778899aabbccddeeff", received.Fingerprint);
        Assert.Equal(Deadline + 60_000, received.OwnerRecordUntilUnixMs);
    }

    /// <summary>trpc-own-until is optional: a malformed one is dropped (the server then writes no owner record) and the request stands.</summary>
    [Theory]
    [InlineData(new byte[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData(new byte[] { 0x00, 0x00, 0xE6, 0x77, 0xD2, 0x1F, 0xDC, 0x00 })]
    public void Decode_AMalformedOwnerRecordExpiry_IsDropped_AndTheRequestStands(byte[] value)
    {
        var request = Decode(Request().With(KafkaHeaders.OwnerUntil, value));

        Assert.Null(request.DecodeError);
        Assert.Equal(0, request.OwnerRecordUntilUnixMs);
        Assert.Equal(Deadline, request.DeadlineUnixMs);
    }

    [Fact]
    public void Decode_AKeyThatIsTheId_IsNoRecordKey_AndAnyOtherKeyIsText()
    {
        Assert.Null(Decode(Request(), key: Id.ToByteArray()).Key);
        Assert.Null(Decode(Request(), key: null).Key);
        Assert.Null(Decode(Request(), key: Array.Empty<byte>()).Key);
        Assert.Equal("order-17", Decode(Request(), key: Utf8("order-17")).Key);

        // Sixteen bytes that are not this record's id are an ordinary key.
        var other = CorrelationId.Parse("ffffffffffffffffffffffffffffffff").ToByteArray();
        Assert.Equal(Encoding.UTF8.GetString(other), Decode(Request(), key: other).Key);
    }

    [Fact]
    public void Decode_ANullValue_IsAnEmptyPayload()
    {
        var request = Decode(Request(), value: null);

        Assert.Equal(0, request.Payload.Length);
        Assert.Null(request.DecodeError);
    }

    [Fact]
    public void Decode_ReplyToAnyPartition()
    {
        var request = Decode(Request().With(KafkaHeaders.Reply, Address("r", -1)));

        Assert.Equal(new RpcReplyAddress("r", -1), request.ReplyTo);
        Assert.Null(request.DecodeError);
    }

    public static TheoryData<string, byte[]?> UnusableIds => new()
    {
        { "missing", null },
        { "empty", Array.Empty<byte>() },
        { "15 bytes", new byte[15] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 } },
        { "17 bytes", Enumerable.Repeat((byte)1, 17).ToArray() },
        { "all zero (the empty id)", new byte[16] },
    };

    [Theory]
    [MemberData(nameof(UnusableIds))]
    public void Decode_WithoutAUsableId_IsNobodysToAnswer(string what, byte[]? id)
    {
        var headers = id is null ? Request(KafkaHeaders.Id) : Request().With(KafkaHeaders.Id, id);

        var request = KafkaHeaders.DecodeRequest(Consumed(headers), Unlimited, out var reason);

        Assert.True(request is null, what);
        Assert.Equal("missing or malformed trpc-id", reason);
    }

    public static TheoryData<string, byte[]?> UnusableReplyAddresses => new()
    {
        { "missing", null },
        { "partition only, no topic", new byte[] { 0, 0, 0, 1 } },
        { "shorter than a partition", new byte[] { 0, 0, 1 } },
        { "partition -2", Address("r", -2) },
        { "partition int.MinValue", Address("r", int.MinValue) },
        { "topic not UTF-8", new byte[] { 0, 0, 0, 1, 0xC3, 0x28 } },
        { "topic of 250 bytes", Address(new string('r', 250), 0) },
    };

    [Theory]
    [MemberData(nameof(UnusableReplyAddresses))]
    public void Decode_WithoutAUsableReplyAddress_IsNobodysToAnswer(string what, byte[]? address)
    {
        var headers = address is null ? Request(KafkaHeaders.Reply) : Request().With(KafkaHeaders.Reply, address);

        var request = KafkaHeaders.DecodeRequest(Consumed(headers), Unlimited, out var reason);

        Assert.True(request is null, what);
        Assert.Equal("missing or malformed trpc-reply", reason);
    }

    [Fact]
    public void Decode_AReplyTopicOf249Bytes_IsTheLongestAccepted()
    {
        var topic = new string('r', 249);

        var request = Decode(Request().With(KafkaHeaders.Reply, Address(topic, 0)));

        Assert.Equal(new RpcReplyAddress(topic, 0), request.ReplyTo);
    }

    [Fact]
    public void Decode_AnIdAndAnAddressButNoOtherHeader_IsAnsweredWithTheFirstProblem()
    {
        var headers = new Headers { { KafkaHeaders.Id, Id.ToByteArray() }, { KafkaHeaders.Reply, Address("r", 0) } };

        var request = KafkaHeaders.DecodeRequest(Consumed(headers), Unlimited, out var reason);

        Assert.Null(reason);
        Assert.NotNull(request);
        Assert.Equal(Id, request.Id);
        Assert.Equal(new RpcReplyAddress("r", 0), request.ReplyTo);
        Assert.Equal("unsupported or missing trpc-v (this server speaks version 1)", request.DecodeError);
        Assert.Equal("unknown", request.Owner);
    }

    [Fact]
    public void Decode_NoHeadersAtAll_IsNobodysToAnswer()
    {
        var request = KafkaHeaders.DecodeRequest(Consumed(new Message<byte[]?, byte[]?> { Value = Utf8("{}"), Headers = null! }), Unlimited, out var reason);

        Assert.Null(request);
        Assert.Equal("missing or malformed trpc-id", reason);
    }

    public static TheoryData<string, string, byte[]?, string> Problems => new()
    {
        // name of the case, header, its value (null: left out), the problem the answer names
        { "version missing", KafkaHeaders.V, null, "unsupported or missing trpc-v (this server speaks version 1)" },
        { "version 2", KafkaHeaders.V, new byte[] { 2 }, "unsupported or missing trpc-v (this server speaks version 1)" },
        { "version 0", KafkaHeaders.V, new byte[] { 0 }, "unsupported or missing trpc-v (this server speaks version 1)" },
        { "version of 2 bytes", KafkaHeaders.V, new byte[] { 1, 0 }, "unsupported or missing trpc-v (this server speaks version 1)" },
        { "version empty", KafkaHeaders.V, Array.Empty<byte>(), "unsupported or missing trpc-v (this server speaks version 1)" },
        { "method missing", KafkaHeaders.Method, null, "missing or malformed trpc-method (expected service/method)" },
        { "method without a slash", KafkaHeaders.Method, Utf8("pricingGetQuote"), "missing or malformed trpc-method (expected service/method)" },
        { "method without a service", KafkaHeaders.Method, Utf8("/GetQuote"), "missing or malformed trpc-method (expected service/method)" },
        { "method without a method", KafkaHeaders.Method, Utf8("pricing/"), "missing or malformed trpc-method (expected service/method)" },
        { "method with two slashes", KafkaHeaders.Method, Utf8("pricing/v2/GetQuote"), "missing or malformed trpc-method (expected service/method)" },
        { "method empty", KafkaHeaders.Method, Array.Empty<byte>(), "missing or malformed trpc-method (expected service/method)" },
        { "method not UTF-8", KafkaHeaders.Method, new byte[] { (byte)'p', (byte)'/', 0xFF }, "missing or malformed trpc-method (expected service/method)" },
        { "method of 1,025 bytes", KafkaHeaders.Method, Utf8("pricing/" + new string('m', 1_017)), "missing or malformed trpc-method (expected service/method)" },
        { "deadline missing", KafkaHeaders.Deadline, null, "missing or malformed trpc-deadline (expected 8 bytes, unix ms)" },
        { "deadline of 7 bytes", KafkaHeaders.Deadline, new byte[7], "missing or malformed trpc-deadline (expected 8 bytes, unix ms)" },
        { "deadline of 9 bytes", KafkaHeaders.Deadline, new byte[9], "missing or malformed trpc-deadline (expected 8 bytes, unix ms)" },
        { "deadline 0", KafkaHeaders.Deadline, Int64(0), "trpc-deadline 0 is out of range" },
        { "deadline negative", KafkaHeaders.Deadline, Int64(-5), "trpc-deadline -5 is out of range" },
        { "deadline past year 9999", KafkaHeaders.Deadline, Int64(253_402_300_800_000), "trpc-deadline 253402300800000 is out of range" },
        { "owner missing", KafkaHeaders.Owner, null, "missing or malformed trpc-owner" },
        { "owner empty", KafkaHeaders.Owner, Array.Empty<byte>(), "missing or malformed trpc-owner" },
        { "owner not UTF-8", KafkaHeaders.Owner, new byte[] { 0xC3, 0x28 }, "missing or malformed trpc-owner" },
        { "owner of 1,025 bytes", KafkaHeaders.Owner, Utf8(new string('o', 1_025)), "missing or malformed trpc-owner" },
        { "fingerprint of 15 bytes", KafkaHeaders.Fingerprint, new byte[15], "malformed trpc-fp (expected 16 bytes)" },
        { "fingerprint of 32 bytes (hex text)", KafkaHeaders.Fingerprint, Utf8("00112233445566778899aabbccddeeff"), "malformed trpc-fp (expected 16 bytes)" },
        { "fingerprint empty", KafkaHeaders.Fingerprint, Array.Empty<byte>(), "malformed trpc-fp (expected 16 bytes)" },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void Decode_ABadHeader_IsAnsweredNamingTheProblem(string what, string header, byte[]? value, string problem)
    {
        var headers = value is null ? Request(header) : Request().With(header, value);

        var request = KafkaHeaders.DecodeRequest(Consumed(headers), Unlimited, out var reason);

        Assert.Null(reason);
        Assert.True(request is not null, what);
        Assert.Equal(Id, request.Id);
        Assert.Equal(new RpcReplyAddress("default.replies", 7), request.ReplyTo);
        Assert.Equal(problem, request.DecodeError);
    }

    [Fact]
    public void Decode_TheLongestDeadline_IsAccepted()
    {
        var last = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

        var request = Decode(Request().With(KafkaHeaders.Deadline, Int64(last)));

        Assert.Null(request.DecodeError);
        Assert.Equal(last, request.DeadlineUnixMs);
    }

    [Fact]
    public void Decode_AMethodAndOwnerOf1024Bytes_AreTheLongestAccepted()
    {
        var method = "pricing/" + new string('m', 1_016);
        var owner = new string('o', 1_024);

        var request = Decode(Request().With(KafkaHeaders.Method, Utf8(method)).With(KafkaHeaders.Owner, Utf8(owner)));

        Assert.Null(request.DecodeError);
        Assert.Equal(new string('m', 1_016), request.Method);
        Assert.Equal(owner, request.Owner);
    }

    [Fact]
    public void Decode_WithAMalformedDeadline_StillCarriesAUsableDeadline()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds();

        var request = Decode(Request(KafkaHeaders.Deadline));

        var after = DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds();
        Assert.InRange(request.DeadlineUnixMs, before, after);
    }

    [Theory]
    [InlineData("trpc-v")]
    [InlineData("trpc-method")]
    [InlineData("trpc-owner")]
    [InlineData("trpc-deadline")]
    [InlineData("trpc-reply")]
    [InlineData("trpc-id")]
    [InlineData("trpc-fp")]
    [InlineData("traceparent")]
    [InlineData("trpc-custom")]
    public void Decode_ATypedRpcHeaderTwice_IsAnswered_AndTheFirstValueCounts(string header)
    {
        var headers = Request();
        headers.Add(KafkaHeaders.Fingerprint, new byte[16]);
        headers.Add(KafkaHeaders.TraceParent, Utf8("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
        if (header == "trpc-custom")
        {
            headers.Add(header, new byte[16]);
        }

        headers.Add(header, header == KafkaHeaders.Reply ? Address("elsewhere", 1) : new byte[16]);

        var request = Decode(headers);

        Assert.Equal($"header {header} appears more than once", request.DecodeError);
        Assert.Equal(Id, request.Id);
        Assert.Equal(new RpcReplyAddress("default.replies", 7), request.ReplyTo);
    }

    [Fact]
    public void Decode_AnApplicationHeaderTwice_KeepsTheLastValue()
    {
        var headers = Request();
        headers.Add("tenant", Utf8("a"));
        headers.Add("tenant", Utf8("b"));

        var request = Decode(headers);

        Assert.Null(request.DecodeError);
        Assert.Equal(new Dictionary<string, string> { ["tenant"] = "b" }, request.Headers);
    }

    [Fact]
    public void Decode_64ApplicationHeaders_AreAccepted_65AreNot()
    {
        var headers = Request();
        for (var i = 0; i < 64; i++)
        {
            headers.Add("h" + i, Utf8("v" + i));
        }

        var accepted = Decode(headers);
        headers.Add("h64", Utf8("v64"));
        var refused = Decode(headers);

        Assert.Null(accepted.DecodeError);
        Assert.Equal(64, accepted.Headers!.Count);
        Assert.Equal("v63", accepted.Headers["h63"]);
        Assert.Equal("more than 64 application headers", refused.DecodeError);
    }

    [Fact]
    public void Decode_AnApplicationHeaderThatIsNotText_IsLeftOut()
    {
        var headers = Request();
        headers.Add("binary", s_badUtf8);
        headers.Add("tenant", Utf8("t-1"));

        var request = Decode(headers);

        Assert.Null(request.DecodeError);
        Assert.Equal(new Dictionary<string, string> { ["tenant"] = "t-1" }, request.Headers);
    }

    [Fact]
    public void Decode_TraceContextThatIsNotText_IsLeftOut_AndTheRequestStands()
    {
        var headers = Request();
        headers.Add(KafkaHeaders.TraceParent, s_badUtf8);
        headers.Add(KafkaHeaders.TraceState, s_badUtf8);

        var request = Decode(headers);

        Assert.Null(request.DecodeError);
        Assert.Null(request.TraceParent);
        Assert.Null(request.TraceState);
        Assert.Null(request.Headers);
    }

    [Fact]
    public void Decode_ARecordOverTheLimit_IsAnsweredNamingTheLimit_EvenWhenOtherHeadersAreBadToo()
    {
        var headers = Request().With(KafkaHeaders.V, new byte[] { 9 });
        var message = new Message<byte[]?, byte[]?> { Key = Utf8("k"), Value = new byte[100], Headers = headers };
        var size = KafkaHeaders.Size(message);

        var atLimit = KafkaHeaders.DecodeRequest(Consumed(message), size, out _);
        var overLimit = KafkaHeaders.DecodeRequest(Consumed(message), size - 1, out var reason);

        Assert.Equal("unsupported or missing trpc-v (this server speaks version 1)", atLimit!.DecodeError);
        Assert.Null(reason);
        Assert.Equal($"the record is {size} bytes; the limit is {size - 1} (TypedRpc:Kafka:MaxMessageBytes)", overLimit!.DecodeError);
    }

    [Fact]
    public void Decode_ProblemsAreReportedInOrder_TheFirstOneWins()
    {
        // Version, method, deadline and owner all bad: the version is checked first.
        var headers = Request().With(KafkaHeaders.V, new byte[] { 2 }).With(KafkaHeaders.Method, Utf8("x")).With(KafkaHeaders.Owner, Array.Empty<byte>());

        Assert.Equal("unsupported or missing trpc-v (this server speaks version 1)", Decode(headers).DecodeError);
        Assert.Equal("missing or malformed trpc-method (expected service/method)", Decode(headers.With(KafkaHeaders.V, new byte[] { 1 })).DecodeError);
    }

    [Fact]
    public void Size_CountsKeyValueAndEveryHeadersNameAndValue()
    {
        var message = new Message<byte[]?, byte[]?>
        {
            Key = new byte[3],
            Value = new byte[10],
            Headers = new Headers { { "trpc-v", new byte[1] }, { "ab", new byte[5] }, { "empty", null } },
        };

        Assert.Equal(3 + 10 + (6 + 1) + (2 + 5) + (5 + 0), KafkaHeaders.Size(message));
        Assert.Equal(0, KafkaHeaders.Size(new Message<byte[]?, byte[]?> { Headers = new Headers() }));
    }

    private static RpcRequest Decode(Headers headers, byte[]? key = null, byte[]? value = null)
    {
        var request = KafkaHeaders.DecodeRequest(Consumed(headers, key, value), Unlimited, out var reason);
        Assert.Null(reason);
        Assert.NotNull(request);
        return request;
    }
}
