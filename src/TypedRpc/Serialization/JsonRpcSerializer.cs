using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
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

    /// <summary>
    /// Creates a serializer that takes its metadata only from source-generated contexts, with the
    /// default serializer's settings (web defaults: camelCase properties, case-insensitive reads), so
    /// its JSON is the same as the reflection-based default's and instances of either kind talk to
    /// each other. The contexts' own <c>[JsonSourceGenerationOptions]</c> settings do not apply
    /// (attributes on the types, such as <see cref="JsonPropertyNameAttribute"/> or
    /// <see cref="JsonConverterAttribute"/>, do); for full control pass your own options to
    /// <see cref="JsonRpcSerializer(JsonSerializerOptions)"/>. The common primitive types
    /// (numbers, <see cref="string"/>, <see cref="bool"/>, <see cref="Guid"/>, dates and times, byte
    /// arrays and their nullable forms, <see cref="JsonElement"/>) are covered without being listed.
    /// </summary>
    /// <param name="contexts">The contexts, asked in order.</param>
    /// <returns>The serializer.</returns>
    /// <exception cref="ArgumentException">No context is given, or one is <see langword="null"/>.</exception>
    public static JsonRpcSerializer FromContexts(params IEnumerable<JsonSerializerContext> contexts)
    {
        ArgumentNullException.ThrowIfNull(contexts);
        var resolvers = new List<IJsonTypeInfoResolver>();
        foreach (var context in contexts)
        {
            resolvers.Add(context ?? throw new ArgumentException("A JSON context is null.", nameof(contexts)));
        }

        if (resolvers.Count == 0)
        {
            throw new ArgumentException("At least one JSON context is needed.", nameof(contexts));
        }

        resolvers.Add(PrimitivesJsonContext.Default);
        return new JsonRpcSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = JsonTypeInfoResolver.Combine([.. resolvers]) });
    }

    /// <summary>
    /// Whether this serializer has metadata for <paramref name="type"/>: always with reflection-based
    /// options, and with source-generated contexts when one of them was generated for the type (or
    /// reaches it through a type it was generated for).
    /// </summary>
    /// <param name="type">The type.</param>
    /// <returns><see langword="true"/> when values of the type can be written and read.</returns>
    public bool CanSerialize(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (_typeInfos.ContainsKey(type))
        {
            return true;
        }

        try
        {
            // The metadata found is kept, so the first call of a checked type does not look it up again.
            _typeInfos.TryAdd(type, _options.GetTypeInfo(type));
            return true;
        }
        catch (NotSupportedException)
        {
            // No resolver has metadata for it (or reflection cannot handle it either).
            return false;
        }
        catch (ArgumentException)
        {
            // Not a type values can have (an open generic, a pointer, ...).
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

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

/// <summary>
/// The primitive types every contract may use without listing them in its own JSON context; and
/// <see cref="object"/>, written as its runtime type (which a context must then cover), as the HTTP
/// edge writes a result.
/// </summary>
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(byte))]
[JsonSerializable(typeof(sbyte))]
[JsonSerializable(typeof(short))]
[JsonSerializable(typeof(ushort))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(uint))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(ulong))]
[JsonSerializable(typeof(float))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(decimal))]
[JsonSerializable(typeof(char))]
[JsonSerializable(typeof(Guid))]
[JsonSerializable(typeof(DateTime))]
[JsonSerializable(typeof(DateTimeOffset))]
[JsonSerializable(typeof(DateOnly))]
[JsonSerializable(typeof(TimeOnly))]
[JsonSerializable(typeof(TimeSpan))]
[JsonSerializable(typeof(bool?))]
[JsonSerializable(typeof(byte?))]
[JsonSerializable(typeof(sbyte?))]
[JsonSerializable(typeof(short?))]
[JsonSerializable(typeof(ushort?))]
[JsonSerializable(typeof(int?))]
[JsonSerializable(typeof(uint?))]
[JsonSerializable(typeof(long?))]
[JsonSerializable(typeof(ulong?))]
[JsonSerializable(typeof(float?))]
[JsonSerializable(typeof(double?))]
[JsonSerializable(typeof(decimal?))]
[JsonSerializable(typeof(char?))]
[JsonSerializable(typeof(Guid?))]
[JsonSerializable(typeof(DateTime?))]
[JsonSerializable(typeof(DateTimeOffset?))]
[JsonSerializable(typeof(DateOnly?))]
[JsonSerializable(typeof(TimeOnly?))]
[JsonSerializable(typeof(TimeSpan?))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(Uri))]
[JsonSerializable(typeof(byte[]))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(int[]))]
[JsonSerializable(typeof(long[]))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(object))]
internal sealed partial class PrimitivesJsonContext : JsonSerializerContext;
