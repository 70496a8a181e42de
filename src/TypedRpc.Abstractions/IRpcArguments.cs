using System.Text.Json;

namespace TypedRpc;

/// <summary>
/// The arguments of one call, as a generated struct: written as one JSON object whose properties
/// are the parameter names. Generated code implements it; the runtime calls it through a
/// constrained generic, so the arguments are never boxed.
/// </summary>
public interface IRpcArguments
{
    /// <summary>The value of the <see cref="RpcKeyAttribute"/> parameter as text, or <see langword="null"/>.</summary>
    string? Key { get; }

    /// <summary>Writes the arguments as one JSON object.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="serializer">Serializes each argument.</param>
    void WriteTo(Utf8JsonWriter writer, IRpcSerializer serializer);
}
