using System;
using System.ComponentModel;

namespace TypedRpc;

/// <summary>
/// Helpers the generated argument structs use when writing a call's argument object. A failure
/// names the argument, so that the caller's <see cref="RpcException"/> (InvalidArgument) says which
/// one could not be sent.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class RpcArgumentsWriter
{
    /// <summary>The error for an argument that could not be written as JSON.</summary>
    /// <typeparam name="T">The parameter type.</typeparam>
    /// <param name="name">The parameter name.</param>
    /// <param name="value">The argument.</param>
    /// <param name="exception">What the serializer threw; kept as the inner exception.</param>
    /// <returns>
    /// The exception to throw. For a NaN or an infinity — the argument itself, or a number inside it —
    /// its message says that JSON cannot carry it instead of repeating the serializer's advice.
    /// </returns>
    public static ArgumentException Failed<T>(string name, T value, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var message = !NonFiniteNumbers.IsRefusal(exception) ? $"Argument '{name}' could not be written: {exception.Message}"
            : NonFiniteNumbers.TryDescribe(value, out var text) ? $"Argument '{name}' is {text}, {NonFiniteNumbers.Reason}"
            : $"Argument '{name}' holds a non-finite number (NaN or Infinity), {NonFiniteNumbers.Reason}";
        return new ArgumentException(message, exception);
    }
}
