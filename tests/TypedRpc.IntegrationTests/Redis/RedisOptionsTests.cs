using System;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Redis;
using Xunit;
using static TypedRpc.Tests.Shared.StoreTestData;

namespace TypedRpc.IntegrationTests.Redis;

/// <summary>Settings, validation and registration.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisOptionsTests(RedisServerFixture redis)
{
    [Fact]
    public void InvalidOptions_AreRefused_NamingEachSetting()
    {
        var options = new RedisOwnershipStoreOptions
        {
            Configuration = " ",
            Namespace = "a{b}",
            OperationTimeout = TimeSpan.Zero,
            WakeUpQueueCapacity = 0,
        };

        var result = new RedisOwnershipStoreOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("TypedRpc:Redis:Configuration ", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("TypedRpc:Redis:Namespace ", StringComparison.Ordinal) && f.Contains("'a{b}'", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("TypedRpc:Redis:OperationTimeout ", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("TypedRpc:Redis:WakeUpQueueCapacity ", StringComparison.Ordinal));

        var error = Assert.Throws<ArgumentException>(() => new RedisOwnershipStore(options));
        Assert.Contains("TypedRpc:Redis:Namespace", error.Message, StringComparison.Ordinal);

        var unknownKeyword = new RedisOwnershipStoreOptions { Configuration = "localhost:6379,bogus=1" };
        Assert.Contains(
            new RedisOwnershipStoreOptionsValidator().Validate(null, unknownKeyword).Failures!,
            f => f.StartsWith("TypedRpc:Redis:Configuration is not a valid", StringComparison.Ordinal));

        Assert.True(new RedisOwnershipStoreOptionsValidator().Validate(null, new RedisOwnershipStoreOptions { Configuration = "localhost" }).Succeeded);
    }

    [Fact]
    public void TheStoresOwnMultiplexer_BoundsEachCommandByTheOperationTimeout_AndQueuesNothingWhileDisconnected()
    {
        // The string's own asyncTimeout gives way: OperationTimeout is the one setting.
        var options = RedisConfiguration.Create("localhost:6379,asyncTimeout=60000", TimeSpan.FromMilliseconds(1_500));
        Assert.Equal(1_500, options.AsyncTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(150), options.HeartbeatInterval);
        Assert.False(options.BacklogPolicy.QueueWhileDisconnected);
        Assert.False(options.AbortOnConnectFail);

        // After an outage it tries again within a second, not on the default's 2.5 s-and-growing schedule.
        var reconnect = options.ReconnectRetryPolicy!;
        Assert.False(reconnect.ShouldRetry(currentRetryCount: 0, timeElapsedMillisecondsSinceLastRetry: 90));
        Assert.True(reconnect.ShouldRetry(currentRetryCount: 0, timeElapsedMillisecondsSinceLastRetry: 1_000));
        Assert.True(reconnect.ShouldRetry(currentRetryCount: 1_000, timeElapsedMillisecondsSinceLastRetry: 1_000));

        // The heartbeat (when the client looks for overdue commands) stays within 10 ms to 1 s, and
        // a timeout is never rounded down to a shorter one.
        Assert.Equal(TimeSpan.FromMilliseconds(10), RedisConfiguration.Create("localhost", TimeSpan.FromMilliseconds(50)).HeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), RedisConfiguration.Create("localhost", TimeSpan.FromMinutes(1)).HeartbeatInterval);
        Assert.Equal(2, RedisConfiguration.Create("localhost", TimeSpan.FromTicks(15_000)).AsyncTimeout);
    }

    [Fact]
    public async Task AddRedis_ReplacesTheStore_WithOneLazilyConnectedRedisStorePerContainer()
    {
        var ns = RedisServerFixture.NewNamespace();
        var services = new ServiceCollection();
        services.AddTypedRpc().UseInMemoryOwnershipStore().AddRedis(o =>
        {
            o.Configuration = redis.Configuration;
            o.Namespace = ns;
        });

        Assert.Single(services, d => d.ServiceType == typeof(IRpcOwnershipStore));
        await using (var provider = services.BuildServiceProvider())
        {
            var store = Assert.IsType<RedisOwnershipStore>(provider.GetRequiredService<IRpcOwnershipStore>());
            Assert.Same(store, provider.GetRequiredService<IRpcOwnershipStore>());
            Assert.Equal(ns, store.Namespace);

            var id = CorrelationId.NewId();
            await store.RegisterOwnerAsync(id, Owner("a"), Ttl, default);
            Assert.Equal(Owner("a"), await store.GetOwnerAsync(id, default));

            // The multiplexer the store made bounds each command by the store's timeout.
            var connection = await store.GetConnectionAsync(default);
            Assert.True(connection.Owned);
            Assert.Equal(2_000, ConfigurationOptions.Parse(connection.Multiplexer.Configuration).AsyncTimeout);
            Assert.Equal(store.OperationTimeout, connection.CommandTimeout);
        }

        // A second container has a store (and connection) of its own.
        await using var again = services.BuildServiceProvider();
        Assert.IsType<RedisOwnershipStore>(again.GetRequiredService<IRpcOwnershipStore>());
    }

    [Fact]
    public void ARedisOperationTimeoutLongerThanTheEnginesStoreTimeout_IsRefused()
    {
        var services = new ServiceCollection();
        services.AddTypedRpc(o => o.StoreOperationTimeout = TimeSpan.FromSeconds(1))
            .AddRedis(o => { o.Configuration = "localhost"; o.OperationTimeout = TimeSpan.FromSeconds(2); });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisOwnershipStoreOptions>>().Value);
        Assert.Contains("TypedRpc:Redis:OperationTimeout must not be longer than TypedRpc:StoreOperationTimeout", error.Message, StringComparison.Ordinal);

        var equal = new ServiceCollection();
        equal.AddTypedRpc(o => o.StoreOperationTimeout = TimeSpan.FromSeconds(2)).AddRedis(o => { o.Configuration = "localhost"; o.OperationTimeout = TimeSpan.FromSeconds(2); });
        using var fine = equal.BuildServiceProvider();
        Assert.Equal(TimeSpan.FromSeconds(2), fine.GetRequiredService<IOptions<RedisOwnershipStoreOptions>>().Value.OperationTimeout);
    }

    [Fact]
    public void AddRedis_InvalidOptions_FailOnResolve_NamingTheSetting()
    {
        var services = new ServiceCollection();
        services.AddTypedRpc().AddRedis(o => o.Namespace = "");
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisOwnershipStoreOptions>>().Value);
        Assert.Contains("TypedRpc:Redis:Configuration", error.Message, StringComparison.Ordinal);
        Assert.Contains("TypedRpc:Redis:Namespace", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASuppliedMultiplexer_IsUsed_AndLeftOpen()
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        try
        {
            var calls = 0;
            var store = new RedisOwnershipStore(new RedisOwnershipStoreOptions
            {
                Namespace = RedisServerFixture.NewNamespace(),
                ConnectionMultiplexerFactory = () =>
                {
                    calls++;
                    return Task.FromResult<IConnectionMultiplexer>(multiplexer);
                },
            });

            var id = CorrelationId.NewId();
            await store.RegisterOwnerAsync(id, Owner("a"), Ttl, default);
            await store.GetOwnerAsync(id, default);
            Assert.Equal(1, calls);

            // Its settings are the application's: its own command timeout applies.
            var connection = await store.GetConnectionAsync(default);
            Assert.False(connection.Owned);
            Assert.Equal(TimeSpan.FromMilliseconds(multiplexer.TimeoutMilliseconds), connection.CommandTimeout);
            Assert.NotEqual(store.OperationTimeout, connection.CommandTimeout);

            await store.DisposeAsync();
            Assert.True(multiplexer.IsConnected);

            await using var direct = new RedisOwnershipStore(multiplexer, new RedisOwnershipStoreOptions { Namespace = store.Namespace });
            Assert.Equal(Owner("a"), await direct.GetOwnerAsync(id, default));
        }
        finally
        {
            await multiplexer.CloseAsync(allowCommandsToComplete: false);
            multiplexer.Dispose();
        }
    }
}
