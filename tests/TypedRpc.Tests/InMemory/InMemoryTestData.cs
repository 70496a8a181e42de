using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
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

    /// <summary>How long a test waits for something that should happen at once; only reached when a test fails.</summary>
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(5);

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

    public static RpcReply Reply(CorrelationId id, int sequence, byte[]? payload = null, bool isEnd = false) => new()
    {
        Id = id,
        Sequence = sequence,
        IsEnd = isEnd,
        HasValue = payload is not null,
        Payload = payload ?? ReadOnlyMemory<byte>.Empty,
    };

    /// <summary>Waits until <paramref name="condition"/> holds, polling briefly; fails the test after <see cref="WaitLimit"/>.</summary>
    public static async Task Eventually(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > WaitLimit)
            {
                throw new TimeoutException($"Timed out waiting for: {what}.");
            }

            await Task.Delay(2);
        }
    }

    /// <summary>A short pause to let anything that should NOT happen show itself before asserting it did not.</summary>
    public static Task Settle() => Task.Delay(50);
}
