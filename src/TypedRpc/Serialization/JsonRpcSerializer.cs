using System;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TypedRpc.Serialization;

/// <summary>
/// The default <see cref="IRpcSerializer"/>: System.Text.Json with the given options. When the
/// options carry a source-generated <c>JsonSerializerContext</c> (as <see cref="JsonSerializerOptions.TypeInfoResolver"/>),
/// no reflection is used.
/// </summary>
public sealed class JsonRpcSerializer : IRpcSerializer
{
    private readonly JsonSerializerOptions _options;
    private readonly ConcurrentDictionary<Type, JsonTypeInfo> _typeInfos = new();

    /// <summary>Creates a serializer with web defaults (camelCase properties, case-insensitive reads).</summary>
    [RequiresUnreferencedCode("Uses reflection-based JSON metadata; pass options with a JsonSerializerContext for trimming and AOT.")]
    [RequiresDynamicCode("Uses reflection-based JSON metadata; pass options with a JsonSerializerContext for trimming and AOT.")]
    public JsonRpcSerializer()
        : this(CreateDefaultOptions())
    {
    }

    /// <summary>Creates a serializer over <paramref name="options"/>; they are made read-only.</summary>
    /// <param name="options">The options; their <see cref="JsonSerializerOptions.TypeInfoResolver"/> must be set.</param>
    /// <exception cref="ArgumentException">The options have no type-info resolver.</exception>
    public JsonRpcSerializer(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.TypeInfoResolver is null)
        {
            throw new ArgumentException("The JSON options need a TypeInfoResolver: a JsonSerializerContext, or DefaultJsonTypeInfoResolver for reflection.", nameof(options));
        }

        options.MakeReadOnly();
        _options = options;
    }

    /// <summary>The options in use.</summary>
    public JsonSerializerOptions Options => _options;

    /// <inheritdoc />
    public void Serialize<T>(Utf8JsonWriter writer, T value) => JsonSerializer.Serialize(writer, value, GetTypeInfo<T>());

    /// <inheritdoc />
    public T? Deserialize<T>(ref Utf8JsonReader reader) => JsonSerializer.Deserialize(ref reader, GetTypeInfo<T>());

    private JsonTypeInfo<T> GetTypeInfo<T>() =>
        (JsonTypeInfo<T>)_typeInfos.GetOrAdd(typeof(T), static (type, options) => options.GetTypeInfo(type), _options);

    [RequiresUnreferencedCode("Reflection-based JSON metadata.")]
    [RequiresDynamicCode("Reflection-based JSON metadata.")]
    private static JsonSerializerOptions CreateDefaultOptions() =>
        new(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
}
