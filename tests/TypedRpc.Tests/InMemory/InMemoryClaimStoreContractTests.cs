using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Tests.Shared;

namespace TypedRpc.Tests.InMemory;

/// <summary>The <see cref="ClaimStoreContract"/> on the in-memory store.</summary>
public sealed class InMemoryClaimStoreContractTests : ClaimStoreContract
{
    protected override IRpcClaimStore CreateStore() => new InMemoryOwnershipStore();

    protected override Task<int> CountAsync(IRpcClaimStore store) => Task.FromResult(((InMemoryOwnershipStore)store).Count);
}
