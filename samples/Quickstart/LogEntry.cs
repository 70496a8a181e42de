using System;
using Microsoft.Extensions.Logging;

namespace Quickstart;

/// <summary>One warning or error an instance logged.</summary>
/// <param name="Instance">The instance that logged it.</param>
/// <param name="Level">Its level.</param>
/// <param name="Category">The logger's category without its namespace (e.g. <c>RpcServer</c>).</param>
/// <param name="Message">The formatted message.</param>
/// <param name="CorrelationId">The call it is about, when the message names one.</param>
/// <param name="Exception">The exception logged with it.</param>
public sealed record LogEntry(string Instance, LogLevel Level, string Category, string Message, string? CorrelationId, Exception? Exception)
{
    /// <summary>
    /// The entry as one sentence: who logged it, then its message and exception, each ending with a
    /// full stop (added only where the text has none, so no ".;" or ".." joins).
    /// </summary>
    public override string ToString()
    {
        var text = $"{Instance} ({Category}): {Sentence(Message)}";
        return Exception is null ? text : $"{text} {Exception.GetType().Name}: {Sentence(Exception.Message)}";
    }

    /// <summary>The text with a full stop at its end unless it already ends a sentence.</summary>
    public static string Sentence(string text)
    {
        var trimmed = text.TrimEnd();
        return trimmed.Length == 0 || trimmed[^1] is '.' or '!' or '?' ? trimmed : trimmed + ".";
    }
}
