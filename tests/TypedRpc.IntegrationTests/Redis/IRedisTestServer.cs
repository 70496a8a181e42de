using System;
using TypedRpc.IntegrationTests.Support;
using TypedRpc.Redis;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>
/// A Redis-protocol server the store's tests run against: redis-server (<see cref="RedisServerFixture"/>)
/// or the demo's embedded Garnet (<see cref="GarnetFixture"/>), so one test body checks both.
/// </summary>
internal interface IRedisTestServer
{
    /// <summary>The StackExchange.Redis configuration string of the server.</summary>
    string Configuration { get; }

    /// <summary>A separate connection to look at (and damage) what the store wrote.</summary>
    RedisAdmin Admin { get; }

    /// <summary>A store on the server, in a namespace of its own unless one is given.</summary>
    RedisOwnershipStore CreateStore(string? ns = null, TimeSpan? operationTimeout = null);
}
