using System;
using System.Collections.Generic;

namespace TypedRpc.Benchmarks.Infrastructure;

/// <summary>How big a run is: the full benchmark, or the tiny smoke run the test suite makes so the scenarios cannot rot.</summary>
public enum RunSize
{
    Full,
    Smoke,
}

/// <summary>One line of a scenario's table: a contender (or a phase) and its named figures.</summary>
public sealed class ResultRow
{
    public ResultRow(string label)
    {
        Label = label;
    }

    public string Label { get; }

    /// <summary>Figures in the order they were added (the table's columns).</summary>
    public List<KeyValuePair<string, double>> Metrics { get; } = new();

    public ResultRow Add(string name, double value)
    {
        Metrics.Add(new KeyValuePair<string, double>(name, value));
        return this;
    }

    public double this[string name]
    {
        get
        {
            foreach (var (key, value) in Metrics)
            {
                if (key == name)
                {
                    return value;
                }
            }

            throw new KeyNotFoundException($"Row '{Label}' has no figure '{name}'.");
        }
    }
}

/// <summary>How a claim's value is compared with its target.</summary>
public enum TargetKind
{
    /// <summary>The value must be at most the target.</summary>
    AtMost,

    /// <summary>The value must be at least the target.</summary>
    AtLeast,

    /// <summary>Reported only: no target.</summary>
    Info,
}

/// <summary>A figure the issue sets a target for (usually a same-run ratio), with the verdict.</summary>
public sealed record Claim(string Name, double Value, TargetKind Kind, double Target, string Unit = "")
{
    public bool? Pass => Kind switch
    {
        TargetKind.AtMost => Value <= Target && !double.IsNaN(Value),
        TargetKind.AtLeast => Value >= Target && !double.IsNaN(Value),
        _ => null,
    };

    public string TargetText => Kind switch
    {
        TargetKind.AtMost => "≤ " + Format.Number(Target) + Unit,
        TargetKind.AtLeast => "≥ " + Format.Number(Target) + Unit,
        _ => "—",
    };
}

/// <summary>What one scenario measured.</summary>
public sealed class ScenarioResult
{
    public ScenarioResult(string name, string title)
    {
        Name = name;
        Title = title;
    }

    public string Name { get; }

    public string Title { get; }

    public List<ResultRow> Rows { get; } = new();

    public List<Claim> Claims { get; } = new();

    /// <summary>Sizes, settings and caveats, printed under the table.</summary>
    public List<string> Notes { get; } = new();

    public TimeSpan Elapsed { get; set; }

    public ResultRow Row(string label)
    {
        var row = new ResultRow(label);
        Rows.Add(row);
        return row;
    }

    public void Claim(string name, double value, TargetKind kind, double target, string unit = "") =>
        Claims.Add(new Claim(name, value, kind, target, unit));
}
