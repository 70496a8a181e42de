using System;
using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Tests.Shared;

namespace TypedRpc.Tests.InMemory;

/// <summary>
/// The in-memory store for the store contracts, on a manual clock: time passes at once, and an entry
/// expires exactly at its time to live. Another client of a store is the store itself.
/// </summary>
internal sealed class InMemoryStoreKind : StoreKind<InMemoryOwnershipStore>
{
    private readonly ManualTimeProvider _clock = new();

    public override TimeSpan PollInterval => InMemoryTestData.PollInterval;

    public override TimeSpan SettleTime => InMemoryTestData.SettleTime;

    public override InMemoryOwnershipStore Create() => new(_clock);

    public override Task<int> CountAsync(InMemoryOwnershipStore store) => Task.FromResult(store.Count);

    public override Task ElapseAsync(TimeSpan time)
    {
        _clock.Advance(time);
        return Task.CompletedTask;
    }

    public override Task<int> WakeUpSubscribersAsync(InMemoryOwnershipStore store, string instanceId) => Task.FromResult(store.WakeUpSubscriptionCount(instanceId));
}
