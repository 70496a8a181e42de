using System;

namespace TypedRpc.IntegrationTests.Reliability;

/// <summary>
/// Test sizes: reduced in <c>./build.sh test</c>, the full sizes of issue 8 with
/// <c>./build.sh test-reliability</c> (which sets TYPEDRPC_RELIABILITY_FULL=1).
/// </summary>
public static class ReliabilitySize
{
    public const string Variable = "TYPEDRPC_RELIABILITY_FULL";

    public static bool Full { get; } = Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary><paramref name="full"/> in the full run, <paramref name="reduced"/> otherwise.</summary>
    public static int Pick(int full, int reduced) => Full ? full : reduced;
}
