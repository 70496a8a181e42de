using System.Threading.Tasks;
using TypedRpc.Tests.Shared;
using Xunit;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>Cancels, fingerprints and provisional results against a real redis-server (the scripts).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoreCallEndTests(RedisServerFixture redis)
{
    [Fact]
    public async Task CancelMarker_RefusesTheCancelledRequestOnly()
    {
        await using var store = redis.CreateStore();
        await OwnershipStoreChecks.CancelMarker_RefusesTheCancelledRequestOnly(store);
    }

    [Fact]
    public async Task Fingerprint_IsKeptWithTheClaim()
    {
        await using var store = redis.CreateStore();
        await OwnershipStoreChecks.Fingerprint_IsKeptWithTheClaim(store);
    }

    [Fact]
    public async Task ProvisionalDeadlineExceeded_IsReplacedByTheRealResult()
    {
        await using var store = redis.CreateStore();
        await OwnershipStoreChecks.ProvisionalDeadlineExceeded_IsReplacedByTheRealResult(store);
    }

    [Fact]
    public async Task Cancel_ReachesTheServicesSubscribers()
    {
        await using var store = redis.CreateStore();
        await OwnershipStoreChecks.Cancel_ReachesTheServicesSubscribers(store);
    }

    [Fact]
    public async Task CancelArguments_AreChecked()
    {
        await using var store = redis.CreateStore();
        await OwnershipStoreChecks.CancelArguments_AreChecked(store);
    }

    [Fact]
    public async Task AnOwnerRecordKeepsItsFingerprint()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();
        var owner = new Ownership.RpcOwner("a", new Transport.RpcReplyAddress("r", 2)) { Fingerprint = "0123456789abcdef0123456789abcdef" };
        await store.RegisterOwnerAsync(id, owner, System.TimeSpan.FromMinutes(1), default);
        Assert.Equal(owner, await store.GetOwnerAsync(id, default));
        Assert.Equal(owner.Fingerprint, (await store.GetOwnerAsync(id, default))!.Fingerprint);
    }
}
