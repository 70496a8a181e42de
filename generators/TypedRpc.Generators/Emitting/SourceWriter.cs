using System;
using System.Text;

namespace TypedRpc.Generators.Emitting;

/// <summary>A small indented text writer: generated code is text, not syntax trees, which is faster and reads the same.</summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder _builder = new();
    private int _indent;

    public void WriteLine(string line)
    {
        if (line.Length > 0)
        {
            _builder.Append(' ', _indent * 4);
        }

        _builder.Append(line).Append('\n');
    }

    public void WriteLine() => _builder.Append('\n');

    public void OpenBlock(string header)
    {
        WriteLine(header);
        WriteLine("{");
        _indent++;
    }

    public void OpenBrace()
    {
        WriteLine("{");
        _indent++;
    }

    public void CloseBlock(string suffix = "")
    {
        if (_indent == 0)
        {
            throw new InvalidOperationException("Unbalanced block.");
        }

        _indent--;
        WriteLine("}" + suffix);
    }

    public int Indent
    {
        get => _indent;
        set => _indent = value;
    }

    public override string ToString() => _builder.ToString();
}
