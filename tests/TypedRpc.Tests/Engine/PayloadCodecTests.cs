using System;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TypedRpc.Serialization;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>The encoder reuses one JSON writer per thread: a failed or nested encoding must not leak into the next.</summary>
public sealed class PayloadCodecTests
{
    private static readonly JsonRpcSerializer s_serializer = new(new JsonSerializerOptions { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(), Converters = { new HalfWrittenConverter(), new NestedConverter() } });

    [Fact]
    public void AnEncodingThatFailsHalfway_LeavesNothingForTheNextOne()
    {
        Assert.Throws<InvalidOperationException>(() => PayloadCodec.EncodeValue(new Broken(), s_serializer));

        var bytes = PayloadCodec.EncodeValue(new[] { 1, 2, 3 }, s_serializer);

        Assert.Equal("[1,2,3]", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void AnEncodingInsideAnEncoding_GetsAWriterOfItsOwn()
    {
        var bytes = PayloadCodec.EncodeValue(new Nested("outer"), s_serializer);

        Assert.Equal("{\"inner\":\"\\u0022outer\\u0022\",\"name\":\"outer\"}", Encoding.UTF8.GetString(bytes));
        Assert.Equal("\"after\"", Encoding.UTF8.GetString(PayloadCodec.EncodeValue("after", s_serializer)));
    }

    private sealed record Broken;

    private sealed record Nested(string Name);

    private sealed class HalfWrittenConverter : JsonConverter<Broken>
    {
        public override Broken Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, Broken value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteString("half", "written");
            throw new InvalidOperationException("The serializer failed halfway.");
        }
    }

    private sealed class NestedConverter : JsonConverter<Nested>
    {
        public override Nested Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, Nested value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            // Encodes again on the same thread while the outer writer is in use.
            writer.WriteString("inner", Encoding.UTF8.GetString(PayloadCodec.EncodeValue(value.Name, s_serializer)));
            writer.WriteString("name", value.Name);
            writer.WriteEndObject();
        }
    }
}
