using System;
using System.ComponentModel;
using System.Text.Json;

namespace TypedRpc;

/// <summary>
/// Helpers the generated dispatchers use to read a request's argument object. Every failure is an
/// <see cref="RpcException"/> with <see cref="RpcStatusCode.InvalidArgument"/> naming the problem,
/// so a malformed request is answered with an error instead of stopping a consumer.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class RpcArgumentsReader
{
    /// <summary>Creates a reader over <paramref name="payload"/> positioned on the opening brace of the argument object.</summary>
    /// <param name="payload">The request value.</param>
    /// <returns>The reader.</returns>
    /// <exception cref="RpcException">The payload is not a JSON object.</exception>
    public static Utf8JsonReader Begin(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new RpcArgumentException( "The request arguments must be a JSON object.");
            }
        }
        catch (JsonException ex)
        {
            throw Malformed(ex);
        }

        return reader;
    }

    /// <summary>Moves to the next property name; returns <see langword="false"/> at the end of the object.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns><see langword="true"/> when positioned on a property name.</returns>
    /// <exception cref="RpcException">The JSON is malformed or has trailing content.</exception>
    public static bool NextProperty(ref Utf8JsonReader reader)
    {
        try
        {
            if (!reader.Read())
            {
                throw new RpcArgumentException( "The request arguments end before the object is closed.");
            }

            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                return true;
            }

            if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0)
            {
                if (reader.Read())
                {
                    throw new RpcArgumentException( "The request has content after the argument object.");
                }

                return false;
            }

            throw new RpcArgumentException( $"Unexpected JSON token {reader.TokenType} in the request arguments.");
        }
        catch (JsonException ex)
        {
            throw Malformed(ex);
        }
    }

    /// <summary>Reads the value of the current property as <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The parameter type.</typeparam>
    /// <param name="reader">The reader, positioned on the property name.</param>
    /// <param name="serializer">The serializer.</param>
    /// <param name="name">The parameter name, for the error message.</param>
    /// <param name="seen">Whether this argument was already read; set to <see langword="true"/>.</param>
    /// <returns>The value.</returns>
    /// <exception cref="RpcException">The value does not match the type, or the argument appears twice.</exception>
    public static T? ReadValue<T>(ref Utf8JsonReader reader, IRpcSerializer serializer, string name, ref bool seen)
    {
        if (seen)
        {
            throw new RpcArgumentException( $"Argument '{name}' appears more than once.");
        }

        seen = true;
        try
        {
            if (!reader.Read())
            {
                throw new RpcArgumentException( $"Argument '{name}' has no value.");
            }

            return serializer.Deserialize<T>(ref reader);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new RpcArgumentException(new RpcStatus(RpcStatusCode.InvalidArgument, $"Argument '{name}' is not a valid {typeof(T).Name}: {ex.Message}"), null, ex);
        }
    }

    /// <summary>Skips the value of a property the method does not know (a newer caller's argument).</summary>
    /// <param name="reader">The reader, positioned on the property name.</param>
    /// <exception cref="RpcException">The JSON is malformed.</exception>
    public static void SkipValue(ref Utf8JsonReader reader)
    {
        try
        {
            if (!reader.Read())
            {
                throw new RpcArgumentException( "The request arguments end inside a property.");
            }

            reader.Skip();
        }
        catch (JsonException ex)
        {
            throw Malformed(ex);
        }
    }

    /// <summary>The error for a required argument that is absent.</summary>
    /// <param name="name">The parameter name.</param>
    /// <returns>The exception to throw.</returns>
    public static RpcException Missing(string name) =>
        new RpcArgumentException($"Argument '{name}' is missing.");

    /// <summary>The error for a non-nullable argument that is <c>null</c>.</summary>
    /// <param name="name">The parameter name.</param>
    /// <returns>The exception to throw.</returns>
    public static RpcException Null(string name) =>
        new RpcArgumentException($"Argument '{name}' must not be null.");

    private static RpcException Malformed(JsonException ex) =>
        new RpcArgumentException(new RpcStatus(RpcStatusCode.InvalidArgument, "The request arguments are not valid JSON: " + ex.Message), null, ex);
}
