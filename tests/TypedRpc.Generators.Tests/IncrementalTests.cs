using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using TypedRpc.Generators.Tests.Infrastructure;
using Xunit;

namespace TypedRpc.Generators.Tests;

/// <summary>
/// The pipeline caches: unrelated edits re-emit nothing, a signature change re-emits only its
/// contract, and no step output holds a symbol, syntax node, semantic model or compilation.
/// </summary>
public sealed class IncrementalTests
{
    private static readonly string[] s_trackingNames =
    {
        TrackingNames.ParseResults, TrackingNames.Models, TrackingNames.Diagnostics, TrackingNames.ServiceNames, TrackingNames.DuplicateServiceNames,
        TrackingNames.JsonContexts, TrackingNames.RegisteredContractTypes, TrackingNames.MissingJsonTypes,
    };

    private static readonly string[] s_jsonContextSteps =
    {
        TrackingNames.JsonContexts, TrackingNames.RegisteredContractTypes, TrackingNames.MissingJsonTypes,
    };

    private const string Unrelated = """
        namespace App;
        public sealed class Calculator
        {
            public int Add(int a, int b) { return a + b; }
        }
        """;

    [Fact]
    public void EveryStep_HasATrackingName()
    {
        var (result, _, _) = GeneratorHarness.Run(TestContracts.Pricing, TestContracts.Nested, TestContracts.PricingHost);
        var steps = result.Results.Single().TrackedSteps;

        foreach (var name in s_trackingNames)
        {
            Assert.True(steps.ContainsKey(name), $"No step tracked as {name}; tracked: {string.Join(", ", steps.Keys)}");
        }

        var names = typeof(TrackingNames).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetValue(null)!);
        Assert.Equal(names.OrderBy(n => n), s_trackingNames.OrderBy(n => n));
    }

    [Fact]
    public void AddingAnUnrelatedFile_LeavesEveryStepCachedOrUnchanged()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestContracts.Pricing, TestContracts.Nested, TestContracts.PricingHost);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        var next = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText(Unrelated, GeneratorHarness.ParseOptions, path: "Unrelated.cs"));
        var result = driver.RunGenerators(next).GetRunResult().Results.Single();

        AssertAllCachedOrUnchanged(result, s_trackingNames);
        AssertOutputsNotRegenerated(result);
    }

    [Fact]
    public void EditingAMethodBody_RegeneratesNothing()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestContracts.Pricing, Unrelated, TestContracts.PricingHost);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        var next = Replace(compilation, "File1.cs", "return a + b;", "var sum = a + b; return sum;");
        var result = driver.RunGenerators(next).GetRunResult().Results.Single();

        AssertAllCachedOrUnchanged(result, s_trackingNames);
        AssertOutputsNotRegenerated(result);
    }

    [Fact]
    public void EditingCommentsAndWhitespaceInAContract_RegeneratesNothing()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestContracts.Pricing);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        var next = Replace(compilation, "File0.cs", "public interface IPricingService", "// Prices things.\n\n        public interface IPricingService");
        var result = driver.RunGenerators(next).GetRunResult().Results.Single();

        // The parse result moves (its diagnostic locations are positions in the edited file), but the model does not.
        AssertAllCachedOrUnchanged(result, TrackingNames.Models);
        AssertOutputsNotRegenerated(result);
    }

    [Fact]
    public void ChangingASignature_RegeneratesThatContractOnly()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestContracts.Pricing, TestContracts.Nested);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        var next = Replace(compilation, "File0.cs", "Task CancelOrderAsync(string orderId);", "Task CancelOrderAsync(string orderId, string reason);");
        var run = driver.RunGenerators(next).GetRunResult();
        var result = run.Results.Single();

        var models = result.TrackedSteps[TrackingNames.Models].SelectMany(s => s.Outputs).ToArray();
        Assert.Equal(3, models.Length);
        Assert.Single(models, o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Equal(2, models.Count(o => o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged));
        var modified = (Model.ContractModel)models.Single(o => o.Reason == IncrementalStepRunReason.Modified).Value;
        Assert.Equal("IPricingService", modified.InterfaceName);

        var outputs = result.TrackedOutputSteps.SelectMany(kv => kv.Value).SelectMany(s => s.Outputs).ToArray();
        Assert.Contains(outputs, o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("reason", run.Results.Single().GeneratedSources.Single(s => s.HintName == "Acme.Pricing.IPricingService.Client.g.cs").SourceText.ToString());
    }

    [Fact]
    public void TheJsonContextCheck_StaysCached_ThroughUnrelatedEdits_AndStillReports()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestContracts.Pricing, TestContracts.PricingHost);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        Assert.Equal("TRPC0022", Assert.Single(driver.GetRunResult().Diagnostics).Id);

        var added = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText(Unrelated, GeneratorHarness.ParseOptions, path: "Unrelated.cs"));
        driver = driver.RunGenerators(added);
        var first = driver.GetRunResult();
        AssertAllCachedOrUnchanged(first.Results.Single(), s_jsonContextSteps);
        AssertOutputsNotRegenerated(first.Results.Single());

        // The call's location is a position in the edited file, so the context step moves with it
        // and the diagnostic is re-reported there (as the contract diagnostics are); what the contracts
        // need, and the emitted sources, do not.
        var edited = Replace(added, "File1.cs", "return value * 2;", "var twice = value * 2; return twice;");
        var second = driver.RunGenerators(edited).GetRunResult();
        AssertAllCachedOrUnchanged(second.Results.Single(), TrackingNames.RegisteredContractTypes, TrackingNames.Models);
        Assert.Equal("TRPC0022", Assert.Single(second.Diagnostics).Id);
    }

    [Fact]
    public void AddingTheMissingType_ModifiesOnlyTheJsonContextSteps()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestContracts.Pricing, TestContracts.PricingHost);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        var next = Replace(compilation, "File1.cs", "[JsonSerializable(typeof(PriceTick))]", "[JsonSerializable(typeof(PriceTick))] [JsonSerializable(typeof(Receipt))]");
        var run = driver.RunGenerators(next).GetRunResult();

        Assert.Empty(run.Diagnostics);
        var result = run.Results.Single();
        AssertAllCachedOrUnchanged(result, TrackingNames.Models, TrackingNames.RegisteredContractTypes);
        Assert.Contains(result.TrackedSteps[TrackingNames.MissingJsonTypes].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
    }

    [Fact]
    public void EqualSources_GiveEqualModels()
    {
        var first = Models(GeneratorHarness.Run(TestContracts.AllShapes).Result);
        var second = Models(GeneratorHarness.Run(TestContracts.AllShapes).Result);

        Assert.Equal(first, second);
        Assert.Equal(first.Select(m => m.GetHashCode()), second.Select(m => m.GetHashCode()));
    }

    [Theory]
    [InlineData(TestContracts.Pricing)]
    [InlineData(TestContracts.AllShapes)]
    [InlineData(TestContracts.Nested)]
    public void NoStepOutput_HoldsSymbolsSyntaxOrCompilations(string source)
    {
        // A contract with diagnostics too, so the diagnostics steps carry values; and a host with a JSON context.
        var (result, _, _) = GeneratorHarness.Run(source, "using TypedRpc; [AsyncSyncContract(\"bad name\")] public interface IBad { void Run(); }", TestContracts.PricingHost, source == TestContracts.Pricing ? "" : TestContracts.Pricing);

        // Our steps only: Roslyn's own ForAttributeWithMetadataName steps legitimately hold syntax.
        var tracked = result.Results.Single().TrackedSteps;
        foreach (var name in s_trackingNames)
        {
            foreach (var step in tracked[name])
            {
                foreach (var (value, _) in step.Outputs)
                {
                    AssertNoForbiddenTypes(value, name, new HashSet<object>(ReferenceEqualityComparer.Instance), depth: 0);
                }
            }
        }
    }

    private static void AssertNoForbiddenTypes(object? value, string path, HashSet<object> visited, int depth)
    {
        if (value is null || depth > 20 || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum)
        {
            return;
        }

        Assert.False(value is ISymbol, $"{path} holds an ISymbol ({value.GetType()})");
        Assert.False(value is SyntaxNode, $"{path} holds a SyntaxNode ({value.GetType()})");
        Assert.False(value is SemanticModel, $"{path} holds a SemanticModel");
        Assert.False(value is Compilation, $"{path} holds a Compilation");
        if (value is Location or DiagnosticDescriptor || !visited.Add(value))
        {
            // Diagnostic locations are allowed (see LocationInfo); descriptors are static metadata.
            return;
        }

        if (value.GetType() is { IsGenericType: true } t && t.GetGenericTypeDefinition() == typeof(System.Collections.Immutable.ImmutableArray<>)
            && (bool)t.GetProperty("IsDefault")!.GetValue(value)!)
        {
            return;
        }

        if (value is IEnumerable enumerable)
        {
            var i = 0;
            foreach (var item in enumerable)
            {
                AssertNoForbiddenTypes(item, $"{path}[{i++}]", visited, depth + 1);
            }

            return;
        }

        for (var type = value.GetType(); type is not null && type != typeof(object); type = type.BaseType)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                AssertNoForbiddenTypes(field.GetValue(value), $"{path}.{field.Name}", visited, depth + 1);
            }
        }
    }

    private static List<Model.ContractModel> Models(GeneratorDriverRunResult result) =>
        result.Results.Single().TrackedSteps[TrackingNames.Models].SelectMany(s => s.Outputs).Select(o => (Model.ContractModel)o.Value).ToList();

    private static Compilation Replace(Compilation compilation, string path, string oldText, string newText)
    {
        var tree = compilation.SyntaxTrees.Single(t => t.FilePath == path);
        var text = tree.GetText().ToString();
        Assert.Contains(oldText, text);
        var newTree = tree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(text.Replace(oldText, newText)));
        return compilation.ReplaceSyntaxTree(tree, newTree);
    }

    private static void AssertAllCachedOrUnchanged(GeneratorRunResult result, params string[] names)
    {
        foreach (var name in names)
        {
            foreach (var step in result.TrackedSteps[name])
            {
                foreach (var (_, reason) in step.Outputs)
                {
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"Step {name} output was {reason}");
                }
            }
        }
    }

    private static void AssertOutputsNotRegenerated(GeneratorRunResult result)
    {
        foreach (var (name, steps) in result.TrackedOutputSteps)
        {
            foreach (var step in steps)
            {
                foreach (var (_, reason) in step.Outputs)
                {
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"Output {name} was {reason}");
                }
            }
        }
    }
}
