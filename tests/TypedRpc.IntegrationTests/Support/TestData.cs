using System;
using System.Diagnostics;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.IntegrationTests.Support;

internal static class TestData
{
    /// <summary>How long a test waits for something that should happen within milliseconds.</summary>
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan Ttl = TimeSpan.FromMinutes(1);

    public static RpcOwner Owner(string instanceId, int partition = 3) => new(instanceId, new RpcReplyAddress("replies." + instanceId, partition));

    public static RpcReply Reply(CorrelationId id, int sequence, byte[]? payload = null, bool isEnd = false, RpcStatusCode status = RpcStatusCode.OK, string? detail = null) => new()
    {
        Id = id,
        Sequence = sequence,
        IsEnd = isEnd,
        Status = status,
        Detail = detail,
        HasValue = payload is not null,
        Payload = payload ?? ReadOnlyMemory<byte>.Empty,
    };

    /// <summary>Polls until <paramref name="condition"/> holds, failing after <see cref="WaitLimit"/>.</summary>
    public static async Task Eventually(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > WaitLimit)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds, failing after <see cref="WaitLimit"/>.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > WaitLimit)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Gives messages that should not arrive the time they would take if they did.</summary>
    public static Task Settle() => Task.Delay(150);
}
