using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Tests.Shared;

namespace TypedRpc.Tests.InMemory;

/// <summary>The <see cref="ClaimStoreContract"/> on the in-memory store.</summary>
public sealed class InMemoryClaimStoreContractTests : ClaimStoreContract
{
    private readonly ManualTimeProvider _clock = new();

    protected override IRpcClaimStore CreateStore() => new InMemoryOwnershipStore(_clock);

    protected override Task ElapseAsync(System.TimeSpan time)
    {
        _clock.Advance(time);
        return Task.CompletedTask;
    }

    protected override Task<int> CountAsync(IRpcClaimStore store) => Task.FromResult(((InMemoryOwnershipStore)store).Count);
}
