using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.Tests.Shared;

/// <summary>
/// The frame of a store contract: a test creates stores through <see cref="NewStore"/>, which are
/// disposed after it; a concrete class per store says how to make one and how to count what it holds.
/// </summary>
/// <typeparam name="TStore">The interface under test.</typeparam>
public abstract class StoreContract<TStore> : IAsyncLifetime
    where TStore : class
{
    private readonly List<TStore> _stores = new();

    /// <summary>Makes a store, in a namespace of its own for a shared server.</summary>
    protected abstract TStore CreateStore();

    /// <summary>A store for argument checks: for a remote store one that never connects, which shows that nothing is sent.</summary>
    protected virtual TStore CreateUnconnectedStore() => CreateStore();

    /// <summary>How many live entries <paramref name="store"/> holds.</summary>
    protected abstract Task<int> CountAsync(TStore store);

    /// <summary>Lets <paramref name="time"/> pass for the stores: a manual clock moves, a server's clock is waited for.</summary>
    protected abstract Task ElapseAsync(TimeSpan time);

    /// <summary>A store created for this test, disposed after it.</summary>
    protected TStore NewStore(bool unconnected = false)
    {
        var store = unconnected ? CreateUnconnectedStore() : CreateStore();
        _stores.Add(store);
        return store;
    }

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
}
