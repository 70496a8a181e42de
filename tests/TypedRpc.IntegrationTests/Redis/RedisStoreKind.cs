using System;
using System.Threading.Tasks;
using TypedRpc.IntegrationTests.Support;
using TypedRpc.Redis;
using TypedRpc.Tests.Shared;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>
/// A Redis-protocol server for the store contracts: each store in a namespace of its own, another
/// client a second store (a second multiplexer) on the same namespace, and time passing by waiting,
/// with a margin past each expiry for the server and a stalled test machine.
/// </summary>
internal sealed class RedisStoreKind(IRedisTestServer redis) : StoreKind<RedisOwnershipStore>
{
    public override TimeSpan ExpiryMargin => TimeSpan.FromMilliseconds(300);

    public override TimeSpan PollInterval => TestData.PollInterval;

    public override TimeSpan SettleTime => TestData.SettleTime;

    public override RedisOwnershipStore Create() => redis.CreateStore();

    /// <summary>A store that never connects (nothing listens there): every argument check runs before the first Redis call.</summary>
    public override RedisOwnershipStore CreateUnconnected() =>
        new(new RedisOwnershipStoreOptions { Configuration = "127.0.0.1:1", Namespace = "unconnected-" + Guid.NewGuid().ToString("N") });

    public override RedisOwnershipStore AnotherClientOf(RedisOwnershipStore store) => redis.CreateStore(store.Namespace);

    /// <summary>The keys in the store's namespace, as the server holds them.</summary>
    public override async Task<int> CountAsync(RedisOwnershipStore store) => (await redis.Admin.ScanAsync(store.Namespace + ":*")).Count;

    public override Task ElapseAsync(TimeSpan time) => Task.Delay(time);

    /// <summary>The connections the server has subscribed to the instance's wake-up channel.</summary>
    public override async Task<int> WakeUpSubscribersAsync(RedisOwnershipStore store, string instanceId) =>
        (int)await redis.Admin.SubscribersAsync(store.Namespace + ":wake:" + instanceId);
}
