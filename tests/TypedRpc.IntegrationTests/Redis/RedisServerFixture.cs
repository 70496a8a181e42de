using System;
using System.Threading.Tasks;
using TypedRpc.DevServices;
using TypedRpc.IntegrationTests.Support;
using TypedRpc.Redis;
using Xunit;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>
/// One Redis for the whole test run: a <see cref="LocalRedisServer"/> started here, or the server
/// named by the <c>TYPEDRPC_REDIS</c> environment variable (for example <c>localhost:6379</c>).
/// Tests never collide on it: each store gets a namespace of its own.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime, IRedisTestServer
{
    public const string EnvironmentVariable = "TYPEDRPC_REDIS";

    private LocalRedisServer? _server;
    private RedisAdmin? _admin;

    /// <summary>The StackExchange.Redis configuration string of the shared server.</summary>
    public string Configuration { get; private set; } = string.Empty;

    internal RedisAdmin Admin => _admin ?? throw new InvalidOperationException("The fixture is not initialized.");

    RedisAdmin IRedisTestServer.Admin => Admin;

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(external))
        {
            _server = await LocalRedisServer.StartAsync();
            Configuration = _server.Configuration;
        }
        else
        {
            Configuration = external;
        }

        _admin = await RedisAdmin.ConnectAsync(Configuration);
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A namespace no other test uses.</summary>
    public static string NewNamespace() => "t" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));

    /// <summary>A store on the shared server, in a namespace of its own.</summary>
    public RedisOwnershipStore CreateStore(string? ns = null, TimeSpan? operationTimeout = null) => new(new RedisOwnershipStoreOptions
    {
        Configuration = Configuration,
        Namespace = ns ?? NewNamespace(),
        OperationTimeout = operationTimeout ?? TimeSpan.FromSeconds(2),
    });
}

/// <summary>
/// Every integration test is in this one collection: one redis-server, one Kafka (mock cluster) and one MQTT broker (mosquitto)
/// per run, shared, with tests running one after another so that the outage tests and the command
/// counters see no one else's traffic.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>, ICollectionFixture<KafkaFixture>, ICollectionFixture<MosquittoFixture>
{
    public const string Name = "Infrastructure";
}
