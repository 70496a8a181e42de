using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Tests.Shared;

namespace TypedRpc.Tests.InMemory;

/// <summary>The <see cref="OwnershipStoreContract"/> on the in-memory store.</summary>
public sealed class InMemoryOwnershipStoreContractTests : OwnershipStoreContract
{
    private readonly ManualTimeProvider _clock = new();

    protected override IRpcOwnershipStore CreateStore() => new InMemoryOwnershipStore(_clock);

    protected override Task ElapseAsync(System.TimeSpan time)
    {
        _clock.Advance(time);
        return Task.CompletedTask;
    }

    protected override Task<int> CountAsync(IRpcOwnershipStore store) => Task.FromResult(((InMemoryOwnershipStore)store).Count);
}
