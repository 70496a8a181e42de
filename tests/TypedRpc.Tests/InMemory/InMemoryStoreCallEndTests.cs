using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Tests.Shared;
using Xunit;

namespace TypedRpc.Tests.InMemory;

/// <summary>Cancels, fingerprints and provisional results on the in-memory store.</summary>
public sealed class InMemoryStoreCallEndTests
{
    private readonly InMemoryOwnershipStore _store = new();

    [Fact]
    public Task CancelMarker_RefusesTheCancelledRequestOnly() => OwnershipStoreChecks.CancelMarker_RefusesTheCancelledRequestOnly(_store);

    [Fact]
    public Task Fingerprint_IsKeptWithTheClaim() => OwnershipStoreChecks.Fingerprint_IsKeptWithTheClaim(_store);

    [Fact]
    public Task ProvisionalDeadlineExceeded_IsReplacedByTheRealResult() => OwnershipStoreChecks.ProvisionalDeadlineExceeded_IsReplacedByTheRealResult(_store);

    [Fact]
    public Task Cancel_ReachesTheServicesSubscribers() => OwnershipStoreChecks.Cancel_ReachesTheServicesSubscribers(_store);

    [Fact]
    public Task CancelArguments_AreChecked() => OwnershipStoreChecks.CancelArguments_AreChecked(_store);
}
