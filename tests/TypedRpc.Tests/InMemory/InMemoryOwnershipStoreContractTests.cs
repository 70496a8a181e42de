using TypedRpc.InMemory;
using TypedRpc.Tests.Shared;

namespace TypedRpc.Tests.InMemory;

/// <summary>The <see cref="OwnershipStoreContract{TStore}"/> on the in-memory store.</summary>
public sealed class InMemoryOwnershipStoreContractTests() : OwnershipStoreContract<InMemoryOwnershipStore>(new InMemoryStoreKind());
