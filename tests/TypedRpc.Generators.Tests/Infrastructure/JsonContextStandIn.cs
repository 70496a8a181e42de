using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace TypedRpc.Generators.Tests.Infrastructure;

/// <summary>
/// System.Text.Json's source generator does not run in these tests (it needs a newer Roslyn than
/// the one they drive), so a <c>partial class X : JsonSerializerContext</c> lacks the members it
/// would write. This adds empty ones (<c>Default</c>, the constructor, the two abstract members),
/// so an example that registers a context compiles as it would in a real build.
/// </summary>
internal static class JsonContextStandIn
{
    public static Compilation AddTo(Compilation compilation)
    {
        var source = new StringBuilder("#nullable enable\n");
        foreach (var tree in compilation.SyntaxTrees.ToArray())
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var declaration in tree.GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>())
            {
                if (model.GetDeclaredSymbol(declaration) is not { } type || type.ContainingType is not null
                    || type.BaseType?.ToDisplayString() != "System.Text.Json.Serialization.JsonSerializerContext")
                {
                    continue;
                }

                var ns = type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString();
                source.Append(ns is null ? "" : $"namespace {ns} {{\n")
                    .Append($"partial class {type.Name}\n{{\n")
                    .Append($"    public {type.Name}() : base(null) {{ }}\n")
                    .Append($"    public static {type.Name} Default {{ get; }} = new();\n")
                    .Append("    protected override global::System.Text.Json.JsonSerializerOptions? GeneratedSerializerOptions => null;\n")
                    .Append("    public override global::System.Text.Json.Serialization.Metadata.JsonTypeInfo? GetTypeInfo(global::System.Type type) => null;\n")
                    .Append("}\n")
                    .Append(ns is null ? "" : "}\n");
            }
        }

        return compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText(source.ToString(), GeneratorHarness.ParseOptions, path: "JsonContextStandIn.g.cs"));
    }
}
