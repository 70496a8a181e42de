using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// Turns a documentation block into a source file of the project that compiles the documentation.
/// Every part of the file starts with a <c>#line</c> directive naming the page and line it came
/// from, so the compiler's errors point at the markdown, not at the generated file.
/// </summary>
internal static class DocSource
{
    /// <summary>
    /// The file for <paramref name="block"/>. A block with top-level statements (a <c>Program.cs</c>)
    /// keeps its usings and its types as they are, and its statements become the body of a method
    /// of a class of its own: a project may have only one file of top-level statements, and a page
    /// may show several programs (a server's, a client's). A block that does not parse is written
    /// unchanged, so that the compiler reports what is wrong with it.
    /// </summary>
    public static string Of(MarkdownCodeBlock block)
    {
        var text = SourceText.From(block.Code);
        var tree = CSharpSyntaxTree.ParseText(text, new CSharpParseOptions(LanguageVersion.Latest));
        var root = (CompilationUnitSyntax)tree.GetRoot();
        var statements = root.Members.OfType<GlobalStatementSyntax>().ToArray();
        var source = new StringBuilder();
        if (statements.Length == 0 || tree.GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error))
        {
            Part(source, block, text, new TextSpan(0, text.Length));
            return source.ToString();
        }

        var statementsStart = statements[0].FullSpan.Start;
        var statementsEnd = statements[^1].FullSpan.End;
        Part(source, block, text, TextSpan.FromBounds(0, statementsStart));
        var name = "DocumentationProgram_" + Path(block.Page) + "_L" + block.Line.ToString(CultureInfo.InvariantCulture);
        source.Append("internal static class ").Append(name).Append('\n')
            .Append("{\n")
            .Append("#pragma warning disable CS1998 // a program without await\n")
            .Append("    public static async global::System.Threading.Tasks.Task RunAsync(string[] args)\n")
            .Append("#pragma warning restore CS1998\n")
            .Append("    {\n");
        Part(source, block, text, TextSpan.FromBounds(statementsStart, statementsEnd));
        source.Append("    }\n}\n");
        Part(source, block, text, TextSpan.FromBounds(statementsEnd, text.Length));
        return source.ToString();
    }

    /// <summary>A file name for <paramref name="block"/>: its page's name and its line.</summary>
    public static string FileName(MarkdownCodeBlock block) =>
        Path(block.Page) + "_L" + block.Line.ToString(CultureInfo.InvariantCulture) + ".cs";

    private static void Part(StringBuilder source, MarkdownCodeBlock block, SourceText text, TextSpan span)
    {
        if (span.IsEmpty)
        {
            return;
        }

        // A part starts at the beginning of a line: leading trivia runs from the previous line's end.
        var line = block.Line + text.Lines.GetLineFromPosition(span.Start).LineNumber;
        source.Append("#line ").Append(line.ToString(CultureInfo.InvariantCulture)).Append(" \"").Append(block.Page).Append("\"\n")
            .Append(text.ToString(span));
        if (source[^1] != '\n')
        {
            source.Append('\n');
        }

        source.Append("#line default\n");
    }

    private static string Path(string page) =>
        new(System.IO.Path.GetFileNameWithoutExtension(page).Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
}
