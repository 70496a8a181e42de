using System;
using System.Threading.Tasks;
using TypedRpc.DevServices;
using TypedRpc.IntegrationTests.Support;
using TypedRpc.Redis;
using Xunit;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>
/// The quickstart's default Redis, <see cref="EmbeddedRedis"/> (Garnet in this process), for a test
/// class that checks the store behaves on it as on redis-server. Stores get namespaces of their own,
/// as on <see cref="RedisServerFixture"/>.
/// </summary>
public sealed class GarnetFixture : IAsyncLifetime, IRedisTestServer
{
    private EmbeddedRedis? _server;
    private RedisAdmin? _admin;

    /// <inheritdoc />
    public string Configuration => _server?.Configuration ?? throw new InvalidOperationException("The fixture is not initialized.");

    RedisAdmin IRedisTestServer.Admin => _admin ?? throw new InvalidOperationException("The fixture is not initialized.");

    public async Task InitializeAsync()
    {
        _server = new EmbeddedRedis();
        _admin = await RedisAdmin.ConnectAsync(_server.Configuration);
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        _server?.Dispose();
    }

    /// <inheritdoc />
    public RedisOwnershipStore CreateStore(string? ns = null, TimeSpan? operationTimeout = null) => new(new RedisOwnershipStoreOptions
    {
        Configuration = Configuration,
        Namespace = ns ?? RedisServerFixture.NewNamespace(),
        OperationTimeout = operationTimeout ?? TimeSpan.FromSeconds(2),
    });
}
