using System;
using System.Collections.Generic;
using System.IO;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// A fenced C# block of a markdown page. A page says that a block is not meant to compile with an
/// HTML comment on the line before its fence, <c>&lt;!-- not compiled: reason --&gt;</c> (invisible
/// when rendered); the same comment as a page's first line covers every block of the page.
/// </summary>
/// <param name="Page">The page's full path.</param>
/// <param name="Line">The page's 1-based line number of the block's first line of code.</param>
/// <param name="Code">The code, without the indentation of its fence (a block inside a list item).</param>
/// <param name="NotCompiled">The marker's reason, or <see langword="null"/> when the block is compiled.</param>
internal sealed record MarkdownCodeBlock(string Page, int Line, string Code, string? NotCompiled)
{
    private const string MarkerStart = "<!-- not compiled:";
    private const string MarkerEnd = "-->";

    /// <summary>The page's <c>```csharp</c> (or <c>cs</c>, <c>c#</c>) blocks, in page order.</summary>
    public static IReadOnlyList<MarkdownCodeBlock> ReadCSharp(string page)
    {
        var lines = File.ReadAllLines(page);
        var pageReason = lines.Length > 0 ? Reason(lines[0]) : null;
        var blocks = new List<MarkdownCodeBlock>();
        string? before = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (!trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                if (trimmed.Length > 0)
                {
                    before = trimmed;
                }

                continue;
            }

            var indent = lines[i].Length - trimmed.Length;
            var language = trimmed[3..].Trim();
            var end = i + 1;
            while (end < lines.Length && lines[end].Trim() != "```")
            {
                end++;
            }

            if (language is "csharp" or "cs" or "c#")
            {
                var code = new List<string>(end - i - 1);
                for (var j = i + 1; j < end; j++)
                {
                    var line = lines[j];
                    code.Add(line.Length >= indent && string.IsNullOrWhiteSpace(line[..indent]) ? line[indent..] : line.TrimStart());
                }

                blocks.Add(new MarkdownCodeBlock(page, i + 2, string.Join('\n', code), pageReason ?? Reason(before)));
            }

            before = null;
            i = end;
        }

        return blocks;
    }

    // The reason of a marker line ("" when it gives none), or null when the line is not a marker.
    private static string? Reason(string? line)
    {
        var text = line?.Trim();
        return text is not null && text.StartsWith(MarkerStart, StringComparison.Ordinal) && text.EndsWith(MarkerEnd, StringComparison.Ordinal)
            ? text[MarkerStart.Length..^MarkerEnd.Length].Trim()
            : null;
    }
}
