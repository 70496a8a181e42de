using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using Xunit.Sdk;

namespace TypedRpc.Generators.Tests.Infrastructure;

/// <summary>
/// A small stand-in for Verify: compares text with a checked-in <c>Snapshots/{name}.verified.cs</c>.
/// On a mismatch it writes <c>{name}.received.cs</c> beside it and fails with a readable diff.
/// Set <c>TYPEDRPC_ACCEPT_SNAPSHOTS=1</c> to accept new output (the verified file is overwritten).
/// </summary>
internal static class Snapshot
{
    public const string AcceptVariable = "TYPEDRPC_ACCEPT_SNAPSHOTS";

    public static void Verify(string name, string actual, [CallerFilePath] string callerPath = "")
    {
        var directory = Path.Combine(FindProjectDirectory(callerPath), "Snapshots");
        var verifiedPath = Path.Combine(directory, name + ".verified.cs");
        var receivedPath = Path.Combine(directory, name + ".received.cs");
        actual = Normalize(actual);

        var accept = Environment.GetEnvironmentVariable(AcceptVariable) is "1" or "true";
        var expected = File.Exists(verifiedPath) ? Normalize(File.ReadAllText(verifiedPath)) : null;
        if (expected == actual)
        {
            File.Delete(receivedPath);
            return;
        }

        if (accept)
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(verifiedPath, actual, new UTF8Encoding(false));
            File.Delete(receivedPath);
            return;
        }

        Directory.CreateDirectory(directory);
        File.WriteAllText(receivedPath, actual, new UTF8Encoding(false));
        var message = expected is null
            ? $"No snapshot {verifiedPath}. Review {receivedPath} and rerun with {AcceptVariable}=1 to accept it."
            : $"Snapshot {name} differs; received output written to {receivedPath}. Rerun with {AcceptVariable}=1 to accept it.\n{Diff(expected, actual)}";
        throw new XunitException(message);
    }

    private static string Normalize(string text) => text.TrimStart('\uFEFF').Replace("\r\n", "\n");

    /// <summary>The first differing region, with three lines of context, in unified-diff style.</summary>
    internal static string Diff(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var first = 0;
        while (first < e.Length && first < a.Length && e[first] == a[first])
        {
            first++;
        }

        var lastE = e.Length - 1;
        var lastA = a.Length - 1;
        while (lastE >= first && lastA >= first && e[lastE] == a[lastA])
        {
            lastE--;
            lastA--;
        }

        var builder = new StringBuilder();
        var start = Math.Max(0, first - 3);
        builder.Append("@@ line ").Append(first + 1).Append(" @@\n");
        for (var i = start; i < first; i++)
        {
            builder.Append("  ").Append(e[i]).Append('\n');
        }

        for (var i = first; i <= lastE; i++)
        {
            builder.Append("- ").Append(e[i]).Append('\n');
        }

        for (var i = first; i <= lastA; i++)
        {
            builder.Append("+ ").Append(a[i]).Append('\n');
        }

        for (var i = lastE + 1; i < Math.Min(e.Length, lastE + 4); i++)
        {
            builder.Append("  ").Append(e[i]).Append('\n');
        }

        return builder.ToString();
    }

    private static string FindProjectDirectory(string callerPath)
    {
        var directory = Path.GetDirectoryName(callerPath);
        while (directory is not null && !File.Exists(Path.Combine(directory, "TypedRpc.Generators.Tests.csproj")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        return directory ?? throw new InvalidOperationException("Cannot find the test project directory from " + callerPath);
    }
}
