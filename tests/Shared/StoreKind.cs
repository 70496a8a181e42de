using System;
using System.Threading.Tasks;
using TypedRpc.Ownership;

namespace TypedRpc.Tests.Shared;

/// <summary>
/// One kind of store the contracts run on (in memory, or on a Redis-protocol server): how to make
/// one, count what it holds and let time pass for it, and how long to wait for what it does.
/// </summary>
/// <typeparam name="TStore">The store, which serves both <see cref="IRpcOwnershipStore"/> and <see cref="IRpcClaimStore"/>.</typeparam>
public abstract class StoreKind<TStore>
    where TStore : class, IRpcOwnershipStore, IRpcClaimStore
{
    /// <summary>How long past an entry's time to live a test waits before counting on its expiry: none on a manual clock.</summary>
    public virtual TimeSpan ExpiryMargin => TimeSpan.Zero;

    /// <summary>How often a test polls for something that should happen at once.</summary>
    public abstract TimeSpan PollInterval { get; }

    /// <summary>How long a test gives something that should not happen the time to show itself.</summary>
    public abstract TimeSpan SettleTime { get; }

    /// <summary>Makes a store, in a namespace of its own for a shared server.</summary>
    public abstract TStore Create();

    /// <summary>A store for argument checks: for a remote store one that never connects, which shows that nothing is sent.</summary>
    public virtual TStore CreateUnconnected() => Create();

    /// <summary>Another client of what <paramref name="store"/> holds, as another process would be; the store itself where there is no other.</summary>
    public virtual TStore AnotherClientOf(TStore store) => store;

    /// <summary>How many live entries <paramref name="store"/> holds.</summary>
    public abstract Task<int> CountAsync(TStore store);

    /// <summary>Lets <paramref name="time"/> pass for the stores: a manual clock moves, a server's clock is waited for.</summary>
    public abstract Task ElapseAsync(TimeSpan time);

    /// <summary>How many subscribers the wake-ups of <paramref name="instanceId"/> reach, as the store counts them (in memory each subscription, on a server each connection).</summary>
    public abstract Task<int> WakeUpSubscribersAsync(TStore store, string instanceId);
}
