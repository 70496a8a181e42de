using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Tests.Shared;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.InMemory;

/// <summary>What only the in-memory store's wake-ups do; the rest is the <see cref="InMemoryWakeUpContractTests"/>.</summary>
public sealed class InMemoryOwnershipStoreWakeUpTests
{
    [Fact]
    public async Task EachSubscription_IsCountedUntilItIsDisposed()
    {
        var store = new InMemoryOwnershipStore();
        await using var kept = await store.SubscribeWakeUpsAsync("a", _ => default, default);
        var dropped = await store.SubscribeWakeUpsAsync("a", _ => default, default);
        Assert.Equal(2, store.WakeUpSubscriptionCount("a"));

        await dropped.DisposeAsync();
        await dropped.DisposeAsync();
        Assert.Equal(1, store.WakeUpSubscriptionCount("a"));
    }

    [Fact]
    public async Task Notify_CompletesAtOnce_EvenWhileACallbackIsStuck()
    {
        var store = new InMemoryOwnershipStore();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var stuck = await store.SubscribeWakeUpsAsync("a", async _ =>
        {
            entered.TrySetResult();
            await release.Task;
        }, default);

        // Notify only queues the wake-up: it never runs a callback on the caller's stack, nor waits for one.
        Assert.True(store.NotifyAsync("a", CorrelationId.NewId(), default).IsCompletedSuccessfully);
        await entered.Task.WaitAsync(Waits.WaitLimit);
        Assert.True(store.NotifyAsync("a", CorrelationId.NewId(), default).IsCompletedSuccessfully);
        release.SetResult();
    }
}
