using System;
using System.Linq;
using System.Text;
using Confluent.Kafka;
using TypedRpc.Transport;
using Xunit;
using static TypedRpc.Kafka.Tests.Records;

namespace TypedRpc.Kafka.Tests;

/// <summary>The reply record (docs/wire-protocol.md, "Reply record"): what is written, and what a caller turns into DataLoss or dead-letters.</summary>
public sealed class KafkaHeadersReplyTests
{
    [Fact]
    public void Encode_WritesEveryHeaderInItsWireForm()
    {
        var reply = new RpcReply { Id = Id, Status = RpcStatusCode.NotFound, Detail = "no such sku", Sequence = 258, IsEnd = true, OwnerRecorded = true };

        var message = KafkaHeaders.EncodeReply(reply);
        var headers = ByName(message.Headers);

        Assert.Equal(new[] { "trpc-v", "trpc-id", "trpc-status", "trpc-seq", "trpc-end", "trpc-owned", "trpc-detail" }, message.Headers.Select(h => h.Key).ToArray());
        Assert.Equal(new byte[] { 1 }, headers["trpc-v"]);
        Assert.Equal(IdHex, Convert.ToHexStringLower(headers["trpc-id"]));
        Assert.Equal(new byte[] { 5 }, headers["trpc-status"]);
        Assert.Equal(new byte[] { 0, 0, 1, 2 }, headers["trpc-seq"]);
        Assert.Equal(new byte[] { 1 }, headers["trpc-end"]);
        Assert.Equal(new byte[] { 1 }, headers["trpc-owned"]);
        Assert.Equal("no such sku", Encoding.UTF8.GetString(headers["trpc-detail"]));
        Assert.Equal(IdHex, Convert.ToHexStringLower(message.Key!));
        Assert.Null(message.Value);
    }

    [Fact]
    public void Encode_AnItem_HasItsValue_NoDetail_AndEndZero()
    {
        var reply = new RpcReply { Id = Id, Sequence = 0, HasValue = true, Payload = Utf8("42") };

        var message = KafkaHeaders.EncodeReply(reply);

        Assert.Equal(new[] { "trpc-v", "trpc-id", "trpc-status", "trpc-seq", "trpc-end" }, message.Headers.Select(h => h.Key).ToArray());
        Assert.Equal(new byte[] { 0 }, ByName(message.Headers)["trpc-status"]);
        Assert.Equal(new byte[] { 0 }, ByName(message.Headers)["trpc-end"]);
        Assert.Equal("42", Encoding.UTF8.GetString(message.Value!));
    }

    [Fact]
    public void Encode_AnEmptyValue_IsAValue_NotNull()
    {
        var message = KafkaHeaders.EncodeReply(new RpcReply { Id = Id, HasValue = true });

        Assert.NotNull(message.Value);
        Assert.Empty(message.Value);
    }

    [Fact]
    public void Encode_ADetailOver4000Characters_IsCut()
    {
        var message = KafkaHeaders.EncodeReply(RpcReply.Error(Id, new RpcStatus(RpcStatusCode.Internal, new string('é', 4_001))));

        Assert.Equal(new string('é', 4_000), Encoding.UTF8.GetString(ByName(message.Headers)["trpc-detail"]));
    }

    [Theory]
    [InlineData(RpcStatusCode.OK, 0, false, true, true)]
    [InlineData(RpcStatusCode.Cancelled, 7, true, false, false)]
    [InlineData(RpcStatusCode.Unauthenticated, int.MaxValue, true, false, true)]
    public void RoundTrip_KeepsEveryField(RpcStatusCode status, int sequence, bool end, bool hasValue, bool ownerRecorded)
    {
        var sent = new RpcReply
        {
            Id = Id,
            Status = status,
            Detail = status == RpcStatusCode.OK ? null : "détail",
            Sequence = sequence,
            IsEnd = end,
            HasValue = hasValue,
            Payload = hasValue ? Utf8("{\"price\":1.5}") : default,
            OwnerRecorded = ownerRecorded,
        };

        var received = KafkaHeaders.DecodeReply(Consumed(KafkaHeaders.EncodeReply(sent)), Unlimited, out var reason);

        Assert.Null(reason);
        Assert.NotNull(received);
        Assert.Equal(Id, received.Id);
        Assert.Equal(status, received.Status);
        Assert.Equal(sent.Detail, received.Detail);
        Assert.Equal(sequence, received.Sequence);
        Assert.Equal(end, received.IsEnd);
        Assert.Equal(hasValue, received.HasValue);
        Assert.Equal(ownerRecorded, received.OwnerRecorded);
        Assert.Equal(hasValue ? "{\"price\":1.5}" : string.Empty, Encoding.UTF8.GetString(received.Payload.Span));
    }

    /// <summary>trpc-owned is optional: anything but the single byte 1 reads as "not recorded", and the reply stands.</summary>
    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0 })]
    [InlineData(new byte[] { 2 })]
    [InlineData(new byte[] { 1, 1 })]
    public void Decode_AnythingButOneInTrpcOwned_IsNotRecorded(byte[] value)
    {
        var reply = Decode(Reply().With(KafkaHeaders.OwnerRecorded, value), value: Utf8("1"));

        Assert.Equal(RpcStatusCode.OK, reply.Status);
        Assert.False(reply.OwnerRecorded);
        Assert.True(Decode(Reply().With(KafkaHeaders.OwnerRecorded, [1]), value: Utf8("1")).OwnerRecorded);
    }

    [Fact]
    public void Decode_AnEmptyValue_IsAValue_ANullOneIsNone()
    {
        Assert.True(Decode(Reply(), value: Array.Empty<byte>()).HasValue);
        Assert.False(Decode(Reply(), value: null).HasValue);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 1, 2, 3 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void Decode_WithoutAUsableId_IsNoReply(byte[]? id)
    {
        var headers = id is null ? Reply(KafkaHeaders.Id) : Reply().With(KafkaHeaders.Id, id);

        var reply = KafkaHeaders.DecodeReply(Consumed(headers, value: Utf8("1")), Unlimited, out var reason);

        Assert.Null(reply);
        Assert.Equal("missing or malformed trpc-id", reason);
    }

    public static TheoryData<string, string, byte[]?, string> Problems => new()
    {
        // name of the case, header, its value (null: left out), the problem named
        { "version missing", KafkaHeaders.V, null, "unsupported or missing trpc-v" },
        { "version 2", KafkaHeaders.V, new byte[] { 2 }, "unsupported or missing trpc-v" },
        { "version of 4 bytes", KafkaHeaders.V, new byte[] { 0, 0, 0, 1 }, "unsupported or missing trpc-v" },
        { "status missing", KafkaHeaders.Status, null, "missing or malformed trpc-status" },
        { "status 17 (unknown)", KafkaHeaders.Status, new byte[] { 17 }, "missing or malformed trpc-status" },
        { "status 255", KafkaHeaders.Status, new byte[] { 255 }, "missing or malformed trpc-status" },
        { "status of 2 bytes", KafkaHeaders.Status, new byte[] { 0, 0 }, "missing or malformed trpc-status" },
        { "status empty", KafkaHeaders.Status, Array.Empty<byte>(), "missing or malformed trpc-status" },
        { "sequence missing", KafkaHeaders.Sequence, null, "missing or malformed trpc-seq" },
        { "sequence of 3 bytes", KafkaHeaders.Sequence, new byte[] { 0, 0, 1 }, "missing or malformed trpc-seq" },
        { "sequence of 8 bytes", KafkaHeaders.Sequence, Int64(1), "missing or malformed trpc-seq" },
        { "sequence negative", KafkaHeaders.Sequence, Int32(-1), "missing or malformed trpc-seq" },
        { "end missing", KafkaHeaders.End, null, "missing or malformed trpc-end" },
        { "end 2", KafkaHeaders.End, new byte[] { 2 }, "missing or malformed trpc-end" },
        { "end of 2 bytes", KafkaHeaders.End, new byte[] { 1, 1 }, "missing or malformed trpc-end" },
        { "end empty", KafkaHeaders.End, Array.Empty<byte>(), "missing or malformed trpc-end" },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void Decode_ABadHeader_IsDataLossForTheCall_WithTheReason(string what, string header, byte[]? value, string problem)
    {
        var headers = value is null ? Reply(header) : Reply().With(header, value);

        var reply = KafkaHeaders.DecodeReply(Consumed(headers, value: Utf8("1")), Unlimited, out var reason);

        Assert.True(reply is not null, what);
        Assert.Equal(problem, reason);
        AssertDataLoss(reply, problem);
    }

    [Theory]
    [InlineData("trpc-v")]
    [InlineData("trpc-id")]
    [InlineData("trpc-status")]
    [InlineData("trpc-seq")]
    [InlineData("trpc-end")]
    [InlineData("trpc-detail")]
    public void Decode_ATypedRpcHeaderTwice_IsDataLoss(string header)
    {
        var headers = Reply();
        headers.Add(KafkaHeaders.Detail, Utf8("first"));
        headers.Add(header, new byte[] { 0 });

        var reply = KafkaHeaders.DecodeReply(Consumed(headers), Unlimited, out var reason);

        Assert.Equal($"header {header} appears more than once", reason);
        AssertDataLoss(reply, reason);
    }

    [Fact]
    public void Decode_ARecordOverTheLimit_IsDataLossNamingTheLimit()
    {
        var message = new Message<byte[]?, byte[]?> { Key = Id.ToByteArray(), Value = new byte[200], Headers = Reply() };
        var size = KafkaHeaders.Size(message);

        var atLimit = KafkaHeaders.DecodeReply(Consumed(message), size, out var atLimitReason);
        var overLimit = KafkaHeaders.DecodeReply(Consumed(message), size - 1, out var reason);

        Assert.Null(atLimitReason);
        Assert.Equal(RpcStatusCode.OK, atLimit!.Status);
        Assert.Equal($"the record is {size} bytes; the limit is {size - 1} (TypedRpc:Kafka:MaxMessageBytes)", reason);
        AssertDataLoss(overLimit, reason);
    }

    [Fact]
    public void Decode_ProblemsAreReportedInOrder_TheFirstOneWins()
    {
        var headers = Reply().With(KafkaHeaders.Status, new byte[] { 99 }).With(KafkaHeaders.End, new byte[] { 9 });
        headers.Add(KafkaHeaders.Sequence, Int32(1));

        KafkaHeaders.DecodeReply(Consumed(headers), Unlimited, out var duplicate);
        KafkaHeaders.DecodeReply(Consumed(Reply().With(KafkaHeaders.Status, new byte[] { 99 }).With(KafkaHeaders.End, new byte[] { 9 })), Unlimited, out var status);

        Assert.Equal("header trpc-seq appears more than once", duplicate);
        Assert.Equal("missing or malformed trpc-status", status);
    }

    [Fact]
    public void Decode_ADetailThatIsNotText_OrOver4096Bytes_IsEmpty_AndTheReplyStands()
    {
        var notText = Decode(Reply().With(KafkaHeaders.Detail, new byte[] { 0xC3, 0x28 }));
        var tooLong = Decode(Reply().With(KafkaHeaders.Detail, Utf8(new string('d', 4_097))));
        var longest = Decode(Reply().With(KafkaHeaders.Detail, Utf8(new string('d', 4_096))));

        Assert.Equal(string.Empty, notText.Detail);
        Assert.Equal(RpcStatusCode.OK, notText.Status);
        Assert.Equal(string.Empty, tooLong.Detail);
        Assert.Equal(new string('d', 4_096), longest.Detail);
    }

    [Fact]
    public void Decode_OtherHeaders_AreIgnored()
    {
        var headers = Reply();
        headers.Add("x-app", Utf8("v"));
        headers.Add(KafkaHeaders.DeadLetterReason, Utf8("earlier"));

        var reply = Decode(headers);

        Assert.Equal(3, reply.Sequence);
        Assert.False(reply.IsEnd);
    }

    private static void AssertDataLoss(RpcReply? reply, string? problem)
    {
        Assert.NotNull(reply);
        Assert.Equal(Id, reply.Id);
        Assert.Equal(RpcStatusCode.DataLoss, reply.Status);
        Assert.Equal("The reply record is malformed: " + problem, reply.Detail);
        Assert.True(reply.IsEnd);
        Assert.False(reply.HasValue);
        Assert.Equal(int.MaxValue, reply.Sequence);
    }

    private static RpcReply Decode(Headers headers, byte[]? value = null)
    {
        var reply = KafkaHeaders.DecodeReply(Consumed(headers, value: value), Unlimited, out var reason);
        Assert.Null(reason);
        Assert.NotNull(reply);
        return reply;
    }
}
