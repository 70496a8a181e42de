using System.Runtime.CompilerServices;
using System.Threading;

namespace TypedRpc.Tests.Support;

internal static class TestHostSetup
{
    /// <summary>
    /// On a 2-core machine the test host blocks two pool threads for about a second at start, so
    /// the first tests that need the pool stall while it grows. Start with enough threads.
    /// </summary>
    [ModuleInitializer]
    internal static void RaiseMinimumThreads()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(System.Math.Max(workers, 8), System.Math.Max(io, 8));
    }
}
