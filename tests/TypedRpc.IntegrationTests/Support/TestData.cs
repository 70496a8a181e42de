using System;
using System.Threading.Tasks;
using TypedRpc.Tests.Shared;

namespace TypedRpc.IntegrationTests.Support;

/// <summary>How the integration tests wait: what they wait for crosses a network (a Redis server).</summary>
internal static class TestData
{
    /// <summary>How often a test polls for something that should happen within milliseconds.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>How long a test gives messages that should not arrive the time they would take if they did.</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(150);

    /// <summary>Polls until <paramref name="condition"/> holds, failing after <see cref="Waits.WaitLimit"/>.</summary>
    public static Task Eventually(Func<bool> condition, string what) => Waits.Eventually(condition, what, PollInterval);

    /// <summary>Polls until <paramref name="condition"/> holds, failing after <see cref="Waits.WaitLimit"/>.</summary>
    public static Task Eventually(Func<Task<bool>> condition, string what) => Waits.Eventually(condition, what, PollInterval);

    /// <summary>Gives messages that should not arrive the time they would take if they did.</summary>
    public static Task Settle() => Task.Delay(SettleTime);
}
