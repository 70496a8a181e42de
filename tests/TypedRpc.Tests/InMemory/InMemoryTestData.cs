using System;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Tests.Shared;
using TypedRpc.Transport;

namespace TypedRpc.Tests.InMemory;

internal static class InMemoryTestData
{
    static InMemoryTestData()
    {
        // The test host keeps two pool threads blocked while tests run; on a 2-core machine that
        // is the pool's whole minimum, so the in-memory deliveries (pool work items) and timers
        // waited up to a second for the pool to grow. Tests measure the transport, not that.
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (workers < 8)
        {
            ThreadPool.SetMinThreads(8, completionPorts);
        }
    }

    /// <summary>How often a test polls: deliveries in memory take microseconds.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(2);

    /// <summary>How long a test waits for what should not happen: in memory it would take far less.</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(50);

    public static readonly RpcServiceDescriptor Service = new("inmem-test", typeof(InMemoryTestData), null, 0, []);

    public static readonly RpcServiceDescriptor OtherService = new("inmem-other", typeof(InMemoryTestData), null, 0, []);

    public static RpcRequest Request(byte[]? payload = null) => new()
    {
        Id = CorrelationId.NewId(),
        Service = Service.ServiceName,
        Method = "Ping",
        ReplyTo = new RpcReplyAddress("replies.caller"),
        Owner = "caller",
        DeadlineUnixMs = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(),
        Payload = payload ?? [1, 2, 3],
    };

    /// <summary>Waits until <paramref name="condition"/> holds, polling every <see cref="PollInterval"/>; fails the test after <see cref="Waits.WaitLimit"/>.</summary>
    public static Task Eventually(Func<bool> condition, string what) => Waits.Eventually(condition, what, PollInterval);

    /// <summary>A short pause to let anything that should NOT happen show itself before asserting it did not.</summary>
    public static Task Settle() => Task.Delay(SettleTime);
}
