using System;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Redis;
using Xunit;
using static TypedRpc.Tests.Shared.StoreTestData;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>What the store leaves in Redis: only keys of the documented schema, each with a time to live.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisKeySchemaTests(RedisServerFixture redis)
{
    [Fact]
    public async Task AfterAWorkload_EveryKeyMatchesTheSchema_AndHasATimeToLive()
    {
        await using var store = redis.CreateStore();
        var ns = store.Namespace;
        for (var i = 0; i < 20; i++)
        {
            var id = CorrelationId.NewId();
            await store.RegisterOwnerAsync(id, Owner("client-1"), Ttl, default);
            await store.StoreReplyAsync(Reply(id, 0, [1]), Ttl, i % 2 == 0 ? "client-1" : null, default);
            await store.StoreReplyAsync(Reply(id, 1, isEnd: true), Ttl, null, default);
            await store.StoreReplyAsync(Reply(id, 1, isEnd: true), Ttl, null, default);
            Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "server-1", Ttl, default)).State);
            if (i % 3 == 0)
            {
                await store.ReleaseClaimAsync(id, "server-1", default);
            }
            else
            {
                await store.CompleteClaimAsync(id, "server-1", [Reply(id, 0, [2], isEnd: true)], Ttl, default);
            }

            // A completion for a request whose claim is gone creates the claim key anew: it too expires.
            await store.CompleteClaimAsync(CorrelationId.NewId(), "a", [], Ttl, default);
            await store.Leases.TryAcquireAsync("client-group", i, "client-1", Ttl, default);
            await store.Leases.RenewAsync("client-group", i, "client-1", Ttl, default);
        }

        var schema = new Regex(
            "^" + Regex.Escape(ns) + @":((own|res|claim):\{[0-9a-f]{32}\}|lease:client-group:\d+)$",
            RegexOptions.CultureInvariant);
        var keys = await redis.Admin.ScanAsync(ns + ":*");

        // 20 owners, 20 reply sets, 20 - 7 released + 20 orphan claims, 20 leases.
        Assert.Equal(20 + 20 + 13 + 20 + 20, keys.Count);
        foreach (var key in keys)
        {
            Assert.Matches(schema, key);
            var ttl = await redis.Admin.PttlAsync(key);
            Assert.True(ttl > 0, $"Key '{key}' has no time to live (PTTL {ttl}).");
            Assert.True(ttl <= Ttl.TotalMilliseconds, $"Key '{key}' lives longer than asked (PTTL {ttl}).");
        }
    }

    [Fact]
    public async Task ARecordThatShouldLiveForEver_StillExpires()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();
        await store.RegisterOwnerAsync(id, Owner("a"), TimeSpan.MaxValue, default);
        await store.StoreReplyAsync(Reply(id, 0), TimeSpan.MaxValue, null, default);
        await store.TryClaimAsync(id, "a", TimeSpan.MaxValue, default);
        await store.Leases.TryAcquireAsync("g", 0, "a", TimeSpan.MaxValue, default);

        var keys = await redis.Admin.ScanAsync(store.Namespace + ":*");
        Assert.Equal(4, keys.Count);
        foreach (var key in keys)
        {
            var ttl = await redis.Admin.PttlAsync(key);
            Assert.InRange(ttl, 1, (long)RedisOwnershipStore.MaxTimeToLive.TotalMilliseconds);

            // Not left for a century on a shared server (TYPEDRPC_REDIS).
            await redis.Admin.ExecuteAsync("DEL", key);
        }
    }

    [Fact]
    public async Task Scripts_AreLoadedOnce_ThenRunByHash()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();

        // Warm up: the first run of each script loads it.
        await store.TryClaimAsync(id, "a", Ttl, default);
        await store.StoreReplyAsync(Reply(id, 0), Ttl, null, default);

        var loads = await redis.Admin.CommandCallsAsync("script|load") + await redis.Admin.CommandCallsAsync("script");
        var evals = await redis.Admin.CommandCallsAsync("eval");
        var evalShas = await redis.Admin.CommandCallsAsync("evalsha");
        for (var i = 0; i < 25; i++)
        {
            await store.TryClaimAsync(id, "a", Ttl, default);
            await store.StoreReplyAsync(Reply(id, i), Ttl, null, default);
        }

        Assert.Equal(loads, await redis.Admin.CommandCallsAsync("script|load") + await redis.Admin.CommandCallsAsync("script"));
        Assert.Equal(evals, await redis.Admin.CommandCallsAsync("eval"));
        Assert.Equal(evalShas + 50, await redis.Admin.CommandCallsAsync("evalsha"));
    }

    [Fact]
    public async Task AfterScriptFlush_ScriptsAreLoadedAgain()
    {
        await using var store = redis.CreateStore();
        var id = CorrelationId.NewId();
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "a", Ttl, default)).State);

        await redis.Admin.ExecuteAsync("SCRIPT", "FLUSH");

        Assert.Equal(RpcClaimState.Running, (await store.TryClaimAsync(id, "b", Ttl, default)).State);
        await store.ReleaseClaimAsync(id, "a", default);
        Assert.Equal(RpcClaimState.Claimed, (await store.TryClaimAsync(id, "b", Ttl, default)).State);
    }
}
