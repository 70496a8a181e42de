using System;
using System.Diagnostics;
using System.Threading.Tasks;

namespace TypedRpc.Tests.Shared;

/// <summary>Waiting for what a test expects to happen soon; each project polls at its own pace.</summary>
internal static class Waits
{
    /// <summary>How long a test waits for something that should happen at once; only reached when a test fails.</summary>
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(5);

    /// <summary>Polls <paramref name="condition"/> every <paramref name="pollInterval"/> until it holds, failing after <see cref="WaitLimit"/>.</summary>
    public static Task Eventually(Func<bool> condition, string what, TimeSpan pollInterval) =>
        Eventually(() => Task.FromResult(condition()), what, pollInterval);

    /// <summary>Polls <paramref name="condition"/> every <paramref name="pollInterval"/> until it holds, failing after <see cref="WaitLimit"/>.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, string what, TimeSpan pollInterval)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > WaitLimit)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(pollInterval);
        }
    }
}
