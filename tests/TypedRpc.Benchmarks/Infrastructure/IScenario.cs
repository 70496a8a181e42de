using System;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.Benchmarks.Infrastructure;

/// <summary>One benchmark scenario of issue 7.</summary>
public interface IScenario
{
    /// <summary>The name used on the command line and in the results (<c>roundtrip</c>, <c>throughput</c>…).</summary>
    string Name { get; }

    /// <summary>A one-line description for the table's heading.</summary>
    string Title { get; }

    /// <summary>Runs the scenario; <paramref name="progress"/> receives short status lines.</summary>
    Task<ScenarioResult> RunAsync(RunSize size, IProgress<string> progress, CancellationToken cancellationToken);
}
