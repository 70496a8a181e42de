using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using TypedRpc.Generators.Model;

namespace TypedRpc.Generators.Parsing;

/// <summary>
/// TRPC0022: every type the registered contracts send must be covered by one of the JSON contexts
/// passed to <c>UseJsonContext</c> in the compilation (or be one of TypedRpc's built-in primitives).
/// The compile-time counterpart of the runtime's start-up check, which stays the authority.
/// </summary>
internal static class JsonContextCheck
{
    public static EquatableArray<DiagnosticInfo> Run(ImmutableArray<JsonContextModel> contexts, ImmutableArray<EquatableArray<JsonTypeNeed>> registrations)
    {
        if (contexts.IsEmpty || registrations.IsEmpty)
        {
            return EquatableArray<DiagnosticInfo>.Empty;
        }

        var covered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var context in contexts)
        {
            if (context.ContextName is null)
            {
                // One context of unknown coverage could cover anything.
                return EquatableArray<DiagnosticInfo>.Empty;
            }

            foreach (var key in context.CoveredTypes)
            {
                covered.Add(key);
            }
        }

        // The missing types, each with every place it is used (once each).
        var missing = new Dictionary<string, (string Display, List<string> Uses)>(StringComparer.Ordinal);
        foreach (var needs in registrations)
        {
            foreach (var need in needs)
            {
                if (covered.Contains(need.Key) || (need.UnderlyingKey is not null && covered.Contains(need.UnderlyingKey)))
                {
                    continue;
                }

                if (!missing.TryGetValue(need.Key, out var entry))
                {
                    entry = (need.DisplayName, new List<string>());
                    missing.Add(need.Key, entry);
                }

                if (!entry.Uses.Contains(need.Use))
                {
                    entry.Uses.Add(need.Use);
                }
            }
        }

        if (missing.Count == 0)
        {
            return EquatableArray<DiagnosticInfo>.Empty;
        }

        // Reported at the first UseJsonContext call in source order, naming every context.
        var ordered = new List<JsonContextModel>(contexts);
        ordered.Sort(static (a, b) =>
        {
            var byFile = string.CompareOrdinal(a.Location?.FilePath, b.Location?.FilePath);
            var byStart = byFile != 0 ? byFile : (a.Location?.Start ?? 0).CompareTo(b.Location?.Start ?? 0);

            // Locations start at the method name, so they never tie in practice.
            return byStart != 0 ? byStart : (a.Location?.Location.SourceSpan.End ?? 0).CompareTo(b.Location?.Location.SourceSpan.End ?? 0);
        });
        var names = new List<string>();
        foreach (var context in ordered)
        {
            var quoted = "'" + context.ContextName + "'";
            if (!names.Contains(quoted))
            {
                names.Add(quoted);
            }
        }

        var subject = names.Count == 1
            ? "JSON context " + names[0] + " has"
            : "JSON contexts " + string.Join(", ", names.GetRange(0, names.Count - 1)) + " and " + names[names.Count - 1] + " have";

        var entries = new List<(string Display, List<string> Uses)>(missing.Values);
        entries.Sort(static (a, b) => string.CompareOrdinal(a.Display, b.Display));
        var result = ImmutableArray.CreateBuilder<DiagnosticInfo>(entries.Count);
        foreach (var (display, uses) in entries)
        {
            result.Add(DiagnosticInfo.Create(DiagnosticDescriptors.JsonContextLacksType, ordered[0].Location, subject, display, string.Join(", ", uses)));
        }

        return result.MoveToImmutable().ToEquatableArray();
    }
}
