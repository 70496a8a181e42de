using TypedRpc.InMemory;
using TypedRpc.Tests.Shared;

namespace TypedRpc.Tests.InMemory;

/// <summary>The <see cref="WakeUpContract{TStore}"/> on the in-memory store.</summary>
public sealed class InMemoryWakeUpContractTests() : WakeUpContract<InMemoryOwnershipStore>(new InMemoryStoreKind());
