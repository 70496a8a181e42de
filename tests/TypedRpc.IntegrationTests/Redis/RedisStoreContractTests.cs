using TypedRpc.Redis;
using TypedRpc.Tests.Shared;
using Xunit;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>The <see cref="OwnershipStoreContract{TStore}"/> on redis-server (or <c>TYPEDRPC_REDIS</c>).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisOwnershipStoreContractOnRedisServerTests(RedisServerFixture redis) : OwnershipStoreContract<RedisOwnershipStore>(new RedisStoreKind(redis));

/// <summary>The <see cref="OwnershipStoreContract{TStore}"/> on Garnet in this process.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisOwnershipStoreContractOnGarnetTests(GarnetFixture garnet) : OwnershipStoreContract<RedisOwnershipStore>(new RedisStoreKind(garnet)), IClassFixture<GarnetFixture>;

/// <summary>The <see cref="ClaimStoreContract{TStore}"/> on redis-server (or <c>TYPEDRPC_REDIS</c>).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisClaimStoreContractOnRedisServerTests(RedisServerFixture redis) : ClaimStoreContract<RedisOwnershipStore>(new RedisStoreKind(redis));

/// <summary>The <see cref="ClaimStoreContract{TStore}"/> on Garnet in this process.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisClaimStoreContractOnGarnetTests(GarnetFixture garnet) : ClaimStoreContract<RedisOwnershipStore>(new RedisStoreKind(garnet)), IClassFixture<GarnetFixture>;

/// <summary>The <see cref="WakeUpContract{TStore}"/> on redis-server (or <c>TYPEDRPC_REDIS</c>).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisWakeUpContractOnRedisServerTests(RedisServerFixture redis) : WakeUpContract<RedisOwnershipStore>(new RedisStoreKind(redis));

/// <summary>The <see cref="WakeUpContract{TStore}"/> on Garnet in this process.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisWakeUpContractOnGarnetTests(GarnetFixture garnet) : WakeUpContract<RedisOwnershipStore>(new RedisStoreKind(garnet)), IClassFixture<GarnetFixture>;
