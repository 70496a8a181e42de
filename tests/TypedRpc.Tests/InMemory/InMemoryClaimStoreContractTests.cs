using TypedRpc.InMemory;
using TypedRpc.Tests.Shared;

namespace TypedRpc.Tests.InMemory;

/// <summary>The <see cref="ClaimStoreContract{TStore}"/> on the in-memory store.</summary>
public sealed class InMemoryClaimStoreContractTests() : ClaimStoreContract<InMemoryOwnershipStore>(new InMemoryStoreKind());
