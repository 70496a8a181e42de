using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using TypedRpc.Generators.Emitting;
using TypedRpc.Generators.Model;
using TypedRpc.Generators.Parsing;

namespace TypedRpc.Generators;

/// <summary>
/// The TypedRpc incremental generator. Pipeline: each <c>[AsyncSyncContract]</c> declaration is
/// parsed into an equatable model plus diagnostics; the models feed the emitters (deduplicated by
/// model equality, so edits that do not change a contract's shape emit nothing); the diagnostics
/// are reported from their own branch with real locations, so <c>#pragma</c> can suppress them.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class AsyncSyncContractGenerator : IIncrementalGenerator
{
    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parseResults = context.SyntaxProvider
            .ForAttributeWithMetadataName(ContractParser.ContractAttributeName, ContractParser.IsCandidate, ContractParser.Parse)
            .WithTrackingName(TrackingNames.ParseResults);

        var models = parseResults
            .Select(static (result, _) => result.Model)
            .Where(static model => model is not null)
            .Select(static (model, _) => model!)
            .WithTrackingName(TrackingNames.Models);

        context.RegisterSourceOutput(models, static (spc, model) =>
        {
            spc.AddSource(model.HintStem + ".Contract.g.cs", ContractEmitter.Emit(model));
            spc.AddSource(model.HintStem + ".Client.g.cs", ClientEmitter.Emit(model));
            spc.AddSource(model.HintStem + ".Server.g.cs", ServerEmitter.Emit(model));
        });

        var diagnostics = parseResults
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(TrackingNames.Diagnostics);

        context.RegisterSourceOutput(diagnostics, static (spc, items) =>
        {
            foreach (var item in items)
            {
                spc.ReportDiagnostic(item.ToDiagnostic());
            }
        });

        // Service names must be unique across the compilation: the only cross-contract check.
        var duplicates = parseResults
            .Select(static (result, _) => result.ServiceName)
            .Where(static entry => entry is not null)
            .Select(static (entry, _) => entry!)
            .Collect()
            .WithTrackingName(TrackingNames.ServiceNames)
            .Select(static (entries, _) => FindDuplicateServiceNames(entries))
            .WithTrackingName(TrackingNames.DuplicateServiceNames);

        context.RegisterSourceOutput(duplicates, static (spc, items) =>
        {
            foreach (var item in items)
            {
                spc.ReportDiagnostic(item.ToDiagnostic());
            }
        });

        // TRPC0022: the JSON contexts passed to UseJsonContext against the contracts registered
        // with AddClient/AddServer, across the compilation.
        var jsonContexts = context.SyntaxProvider
            .CreateSyntaxProvider(JsonContextParser.IsCandidate, JsonContextParser.Parse)
            .WithTrackingName(TrackingNames.JsonContexts)
            .Where(static model => model is not null)
            .Select(static (model, _) => model!)
            .Collect();

        var registeredTypes = context.SyntaxProvider
            .CreateSyntaxProvider(RegistrationParser.IsCandidate, RegistrationParser.Parse)
            .WithTrackingName(TrackingNames.RegisteredContractTypes)
            .Where(static needs => needs.Count > 0)
            .Collect();

        var missingJsonTypes = jsonContexts
            .Combine(registeredTypes)
            .Select(static (pair, _) => JsonContextCheck.Run(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.MissingJsonTypes);

        context.RegisterSourceOutput(missingJsonTypes, static (spc, items) =>
        {
            foreach (var item in items)
            {
                spc.ReportDiagnostic(item.ToDiagnostic());
            }
        });
    }

    private static EquatableArray<DiagnosticInfo> FindDuplicateServiceNames(ImmutableArray<ServiceNameEntry> entries)
    {
        if (entries.Length < 2)
        {
            return EquatableArray<DiagnosticInfo>.Empty;
        }

        // Report every contract after the first that uses a name, ordered by declaration so the
        // result does not depend on pipeline order.
        var sorted = new List<ServiceNameEntry>(entries);
        sorted.Sort(static (a, b) =>
        {
            var byFile = string.CompareOrdinal(a.Location?.FilePath, b.Location?.FilePath);
            return byFile != 0 ? byFile : (a.Location?.Start ?? 0).CompareTo(b.Location?.Start ?? 0);
        });
        var byService = new Dictionary<string, ServiceNameEntry>();
        var byTopic = new Dictionary<string, ServiceNameEntry>();
        var byGeneratedName = new Dictionary<string, ServiceNameEntry>();
        var result = ImmutableArray.CreateBuilder<DiagnosticInfo>();
        foreach (var entry in sorted)
        {
            if (byGeneratedName.TryGetValue(entry.GeneratedName, out var sameName))
            {
                result.Add(DiagnosticInfo.Create(DiagnosticDescriptors.GeneratedNameClash, entry.Location, entry.DisplayName, entry.GeneratedName + "Client", $"generated for contract '{sameName.DisplayName}'"));
            }
            else
            {
                byGeneratedName.Add(entry.GeneratedName, entry);
            }

            if (byService.TryGetValue(NameRules.KafkaKey(entry.ServiceName), out var owner))
            {
                result.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateServiceName, entry.Location, $"Service name '{entry.ServiceName}'", entry.DisplayName, owner.DisplayName));
            }
            else if (byTopic.TryGetValue(NameRules.KafkaKey(entry.Topic), out owner))
            {
                result.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateServiceName, entry.Location, $"Request topic '{entry.Topic}'", entry.DisplayName, owner.DisplayName));
            }

            AddFirst(byService, NameRules.KafkaKey(entry.ServiceName), entry);
            AddFirst(byTopic, NameRules.KafkaKey(entry.Topic), entry);
        }

        return result.ToImmutable().ToEquatableArray();
    }

    private static void AddFirst(Dictionary<string, ServiceNameEntry> map, string key, ServiceNameEntry entry)
    {
        if (!map.ContainsKey(key))
        {
            map.Add(key, entry);
        }
    }
}
