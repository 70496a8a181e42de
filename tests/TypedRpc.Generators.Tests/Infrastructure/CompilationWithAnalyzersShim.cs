using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace TypedRpc.Generators.Tests.Infrastructure;

/// <summary>
/// Applies a compilation's <c>#pragma warning</c> state to a generator diagnostic. The compiler's
/// filter for that is internal; the same filter is applied to analyzer diagnostics, so the
/// diagnostic is replayed through a one-line analyzer and read back with suppressions reported.
/// </summary>
internal static class CompilationWithAnalyzersShim
{
    public static Diagnostic ApplySuppressions(Compilation compilation, Diagnostic diagnostic)
    {
        var analyzer = new ReplayAnalyzer(diagnostic);
        var options = new CompilationWithAnalyzersOptions(new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty), null, concurrentAnalysis: false, logAnalyzerExecutionTime: false, reportSuppressedDiagnostics: true);
        var withAnalyzers = compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(analyzer), options);
        var results = withAnalyzers.GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
        return results.Single(d => d.Id == diagnostic.Id);
    }

    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    private sealed class ReplayAnalyzer(Diagnostic diagnostic) : DiagnosticAnalyzer
    {
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(diagnostic.Descriptor);

        public override void Initialize(AnalysisContext context)
        {
            context.EnableConcurrentExecution();
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.RegisterSyntaxTreeAction(tree =>
            {
                if (tree.Tree.FilePath == diagnostic.Location.SourceTree?.FilePath)
                {
                    tree.ReportDiagnostic(Diagnostic.Create(diagnostic.Descriptor, Location.Create(tree.Tree, diagnostic.Location.SourceSpan),
                        diagnostic.Properties, diagnostic.GetMessage()));
                }
            });
        }
    }
}
