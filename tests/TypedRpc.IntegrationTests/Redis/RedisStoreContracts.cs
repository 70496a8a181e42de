using System;
using System.Threading.Tasks;
using TypedRpc.Redis;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>What the Redis runs of the store contracts share.</summary>
internal static class RedisStoreContracts
{
    /// <summary>A store that never connects (nothing listens there): every argument check runs before the first Redis call.</summary>
    public static RedisOwnershipStore Unconnected() =>
        new(new RedisOwnershipStoreOptions { Configuration = "127.0.0.1:1", Namespace = "unconnected-" + Guid.NewGuid().ToString("N") });

    /// <summary>The keys in the store's namespace, as the server holds them.</summary>
    public static async Task<int> CountAsync(IRedisTestServer redis, object store) =>
        (await redis.Admin.ScanAsync(((RedisOwnershipStore)store).Namespace + ":*")).Count;
}
