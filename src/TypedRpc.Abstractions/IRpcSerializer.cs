using System.Text.Json;

namespace TypedRpc;

/// <summary>
/// Writes and reads single values as JSON. Generated code calls it for each argument; the runtime
/// for each reply. The default implementation uses System.Text.Json with the configured
/// <see cref="JsonSerializerOptions"/> (and a user's <c>JsonSerializerContext</c> when given).
/// </summary>
public interface IRpcSerializer
{
    /// <summary>Writes <paramref name="value"/> as one JSON value.</summary>
    /// <typeparam name="T">The declared type of the value.</typeparam>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The value.</param>
    void Serialize<T>(Utf8JsonWriter writer, T value);

    /// <summary>Reads one JSON value; the reader is positioned on its first token.</summary>
    /// <typeparam name="T">The declared type of the value.</typeparam>
    /// <param name="reader">The reader; on return it is positioned on the value's last token.</param>
    /// <returns>The value; <see langword="null"/> when the JSON is <c>null</c>.</returns>
    /// <exception cref="JsonException">The JSON does not match <typeparamref name="T"/>.</exception>
    T? Deserialize<T>(ref Utf8JsonReader reader);
}
