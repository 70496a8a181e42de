using System.Collections.Generic;
using TypedRpc.Benchmarks.Infrastructure;

namespace TypedRpc.Benchmarks.Scenarios;

/// <summary>Every scenario, in the order.</summary>
public static class Catalog
{
    public static IReadOnlyList<IScenario> All { get; } = new IScenario[]
    {
        new RoundtripScenario(),
        new ThroughputScenario(),
        new FanOutScenario(),
        new MembershipScenario(),
        new OverheadScenario(),
        new WaitersScenario(),
        new GeneratorScenario(),
        new StoreScenario(),
        new AotScenario(),
    };

    public static IReadOnlyList<string> Names
    {
        get
        {
            var names = new List<string>();
            foreach (var scenario in All)
            {
                names.Add(scenario.Name);
            }

            return names;
        }
    }
}
