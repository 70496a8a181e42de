using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using Xunit;

namespace TypedRpc.Tests.Shared;

/// <summary>
/// The frame of a store contract: a test creates stores through <see cref="NewStore"/>, which are
/// disposed after it; the <see cref="StoreKind{TStore}"/> a concrete class passes says how to make
/// one, count what it holds and let time pass.
/// </summary>
/// <typeparam name="TStore">The store under test.</typeparam>
public abstract class StoreContract<TStore> : IAsyncLifetime
    where TStore : class, IRpcOwnershipStore, IRpcClaimStore
{
    private readonly List<TStore> _stores = new();

    /// <summary>Runs the contract on stores of <paramref name="kind"/>.</summary>
    protected StoreContract(StoreKind<TStore> kind) => Kind = kind;

    /// <summary>A token cancelled before the call it is given to.</summary>
    protected static CancellationToken Cancelled => new(canceled: true);

    /// <summary>The kind of store under test.</summary>
    protected StoreKind<TStore> Kind { get; }

    /// <summary>How long past an entry's time to live a test waits before counting on its expiry.</summary>
    protected TimeSpan ExpiryMargin => Kind.ExpiryMargin;

    /// <summary>A store created for this test, disposed after it.</summary>
    protected TStore NewStore(bool unconnected = false) => Keep(unconnected ? Kind.CreateUnconnected() : Kind.Create());

    /// <summary>Another client of what <paramref name="store"/> holds (a second process), disposed after the test.</summary>
    protected TStore AnotherClientOf(TStore store)
    {
        var other = Kind.AnotherClientOf(store);
        return ReferenceEquals(other, store) ? store : Keep(other);
    }

    /// <summary>How many live entries <paramref name="store"/> holds.</summary>
    protected Task<int> CountAsync(TStore store) => Kind.CountAsync(store);

    /// <summary>Lets <paramref name="time"/> pass for the stores.</summary>
    protected Task ElapseAsync(TimeSpan time) => Kind.ElapseAsync(time);

    /// <summary>Polls until <paramref name="condition"/> holds, failing after <see cref="Waits.WaitLimit"/>.</summary>
    protected Task Eventually(Func<bool> condition, string what) => Waits.Eventually(condition, what, Kind.PollInterval);

    /// <summary>Polls until <paramref name="condition"/> holds, failing after <see cref="Waits.WaitLimit"/>.</summary>
    protected Task Eventually(Func<Task<bool>> condition, string what) => Waits.Eventually(condition, what, Kind.PollInterval);

    /// <summary>Gives what should not happen the time it would take if it did.</summary>
    protected Task Settle() => Task.Delay(Kind.SettleTime);

    /// <inheritdoc />
    public Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
    }

    private TStore Keep(TStore store)
    {
        _stores.Add(store);
        return store;
    }
}
