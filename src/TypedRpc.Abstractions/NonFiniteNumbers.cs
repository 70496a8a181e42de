using System;
using System.Globalization;
using System.IO;
using System.Text.Json;

namespace TypedRpc;

/// <summary>
/// Recognises System.Text.Json's refusal to write a NaN or an infinity, and words it for people:
/// the writer's own text talks about <c>JsonNumberHandling</c> and names neither the argument nor
/// the value. Used only once writing has failed.
/// </summary>
internal static class NonFiniteNumbers
{
    /// <summary>The sentence every message about a non-finite number ends with.</summary>
    public const string Reason = "which JSON cannot carry (System.Text.Json writes only finite numbers).";

    private static string? s_refusal;

    /// <summary>Whether <paramref name="exception"/> is the writer refusing a NaN or an infinity.</summary>
    /// <remarks>
    /// The writer throws a plain <see cref="ArgumentException"/> for it; it is told apart from other
    /// argument errors by its message, which is taken from the writer itself once (so it matches in
    /// any language and version) rather than written down here.
    /// </remarks>
    public static bool IsRefusal(Exception exception) =>
        exception is ArgumentException { ParamName: null } && string.Equals(exception.Message, s_refusal ??= Refusal(), StringComparison.Ordinal);

    /// <summary>The text of <paramref name="value"/> when it is a NaN or an infinity (<c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c>).</summary>
    public static bool TryDescribe<T>(T value, out string text)
    {
        text = value switch
        {
            double d when !double.IsFinite(d) => d.ToString(CultureInfo.InvariantCulture),
            float f when !float.IsFinite(f) => f.ToString(CultureInfo.InvariantCulture),
            Half h when !Half.IsFinite(h) => h.ToString(CultureInfo.InvariantCulture),
            _ => string.Empty,
        };
        return text.Length > 0;
    }

    private static string Refusal()
    {
        try
        {
            using var writer = new Utf8JsonWriter(Stream.Null);
            writer.WriteNumberValue(double.NaN);
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }

        // A writer that accepts NaN never refuses it, so nothing can match.
        return "\0";
    }
}
