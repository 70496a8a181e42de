using System;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>One client instance and one server instance of a deployment, shared by a test class.</summary>
public abstract class PairFixture : IAsyncLifetime
{
    protected PairFixture(Redis.RedisServerFixture redis) => Redis = redis;

    public Redis.RedisServerFixture Redis { get; }

    public IDeployment Deployment { get; private set; } = null!;

    public string Namespace { get; private set; } = string.Empty;

    public IServiceProvider Client { get; private set; } = null!;

    /// <summary>A new deployment of the same transport on namespace <paramref name="ns"/>.</summary>
    public abstract IDeployment NewDeployment(string ns);

    public async Task InitializeAsync()
    {
        // Every call crosses the broker and a real redis-server (owners, claims, results).
        Namespace = TypedRpc.IntegrationTests.Redis.RedisServerFixture.NewNamespace();
        Deployment = NewDeployment(Namespace);
        await Deployment.StartAsync(client: false, server: true);
        Client = await Deployment.StartAsync(client: true, server: false);
        // The first call waits for the server's subscription (a Kafka group join, an MQTT SUBACK).
        await Client.GetRequiredService<IIntegrationService>().PingAsync();
    }

    public async Task DisposeAsync() => await Deployment.DisposeAsync();
}
