using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TypedRpc.Generators.Tests.Infrastructure;
using Xunit;

namespace TypedRpc.Generators.Tests;

/// <summary>
/// The examples of docs/diagnostics.md say what they show: in each <c>## TRPC00nn</c> section, the
/// block after <c>**Bad:**</c> reports that diagnostic and the block after <c>**Fixed:**</c> is
/// generated and compiles without a warning. Each example is a compilation of its own (several
/// declare the same names), with the usings the page says they share.
/// </summary>
public sealed class DiagnosticsPageTests
{
    public static TheoryData<string, string, int, string> Examples()
    {
        var data = new TheoryData<string, string, int, string>();
        foreach (var example in Read().Examples)
        {
            data.Add(example.Id, example.Kind, example.Line, example.Code);
        }

        return data;
    }

    [Fact]
    public void EverySection_HasABadAndAFixedExample()
    {
        var page = Read();
        var ids = typeof(DiagnosticDescriptors).GetFields()
            .Select(f => ((Microsoft.CodeAnalysis.DiagnosticDescriptor)f.GetValue(null)!).Id)
            .Order(StringComparer.Ordinal).ToArray();

        Assert.NotEmpty(page.Usings);
        Assert.Equal(ids, page.Examples.Where(e => e.Kind == "Bad").Select(e => e.Id).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(ids, page.Examples.Where(e => e.Kind == "Fixed").Select(e => e.Id).Distinct().Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void AnExample_ShowsWhatItSays(string id, string kind, int line, string code)
    {
        var (_, output, diagnostics) = GeneratorHarness.Run(Read().Usings + "\n" + code);

        if (kind == "Bad")
        {
            Assert.True(diagnostics.Any(d => d.Id == id), $"docs/diagnostics.md:{line}: the Bad example of {id} reports {Describe(diagnostics)}");
        }
        else
        {
            Assert.True(diagnostics.IsEmpty, $"docs/diagnostics.md:{line}: the Fixed example of {id} reports {Describe(diagnostics)}");
            // System.Text.Json's generator does not run here: stand in for what it would add.
            var problems = GeneratorHarness.CompilerProblems(JsonContextStandIn.AddTo(output));
            Assert.True(problems.IsEmpty, $"docs/diagnostics.md:{line}: the Fixed example of {id} does not compile: {Describe(problems)}");
        }
    }

    private static string Describe(IEnumerable<Microsoft.CodeAnalysis.Diagnostic> diagnostics)
    {
        var text = string.Join("; ", diagnostics.Select(d => d.ToString()));
        return text.Length == 0 ? "nothing" : text;
    }

    private static (string Usings, List<(string Id, string Kind, int Line, string Code)> Examples) Read()
    {
        var lines = File.ReadAllLines(Path.Combine(Root(), "docs", "diagnostics.md"));
        var usings = string.Empty;
        var examples = new List<(string Id, string Kind, int Line, string Code)>();
        string? section = null;
        string? paragraph = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("```csharp", StringComparison.Ordinal))
            {
                var end = Array.FindIndex(lines, i + 1, l => l.StartsWith("```", StringComparison.Ordinal));
                var code = string.Join('\n', lines[(i + 1)..end]);
                if (section is null && usings.Length == 0 && lines[(i + 1)..end].All(l => l.StartsWith("using ", StringComparison.Ordinal)))
                {
                    usings = code;
                }
                else if (section is not null && paragraph is not null && (paragraph.StartsWith("**Bad:**", StringComparison.Ordinal) || paragraph.StartsWith("**Fixed:**", StringComparison.Ordinal)))
                {
                    examples.Add((section, paragraph.StartsWith("**Bad:**", StringComparison.Ordinal) ? "Bad" : "Fixed", i + 2, code));
                }

                i = end;
                paragraph = null;
            }
            else if (line.StartsWith("## TRPC", StringComparison.Ordinal))
            {
                section = line[3..11];
                paragraph = null;
            }
            else if (line.Length > 0 && (i == 0 || lines[i - 1].Length == 0))
            {
                paragraph = line;
            }
        }

        return (usings, examples);
    }

    private static string Root()
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "TypedRpc.sln")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        return directory ?? throw new InvalidOperationException("The repository root was not found above " + AppContext.BaseDirectory);
    }
}
