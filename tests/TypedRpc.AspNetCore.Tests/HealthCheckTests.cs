using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using TypedRpc.Hosting;
using TypedRpc.InMemory;
using TypedRpc.Tests.Support;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.AspNetCore.Tests;

/// <summary>
/// <c>AddHealthChecks().AddTypedRpc()</c>: not healthy, naming the contracts still waiting, until
/// every server has been assigned its requests; healthy after; not healthy again once stopping.
/// </summary>
public sealed class HealthCheckTests : IAsyncLifetime
{
    private readonly InMemoryRpcTransport _inMemory = new();
    private readonly GatedTransport _transport;
    private readonly List<WebApplication> _apps = new();

    public HealthCheckTests() => _transport = new GatedTransport(_inMemory) { HoldAssignments = true };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        await _inMemory.DisposeAsync();
    }

    [Fact]
    public async Task OverHttp_TheProbeFailsNamingTheContractUntilItsServerIsAssigned_ThenPasses()
    {
        var (app, http) = await StartAsync(h => h.AddTypedRpc());

        var before = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        Assert.Equal("Unhealthy", await before.Content.ReadAsStringAsync());
        var entry = (await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries[TypedRpcHealthChecksBuilderExtensions.DefaultName];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("'edge-test'", entry.Description, StringComparison.Ordinal);
        var notReady = Assert.IsAssignableFrom<IReadOnlyList<string>>(entry.Data["notReady"]);
        Assert.Contains("'edge-test'", Assert.Single(notReady), StringComparison.Ordinal);

        _transport.Assignment("edge-test").SetResult();
        await app.Services.GetRequiredService<IRpcReadiness>().WaitUntilReadyAsync().WaitAsync(TimeSpan.FromSeconds(5));

        var after = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("Healthy", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AFailureStatusOfDegraded_IsWhatANotReadyInstanceReports()
    {
        var (app, http) = await StartAsync(h => h.AddTypedRpc("rpc", HealthStatus.Degraded, new[] { "ready" }));

        var report = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Tags.Contains("ready"));

        Assert.Equal(HealthStatus.Degraded, report.Entries["rpc"].Status);
        Assert.Equal("Degraded", await (await http.GetAsync("/healthz")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OnceTheHostIsStopping_TheCheckFailsAgain()
    {
        _transport.HoldAssignments = false;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(new EdgeState());
        services.AddTypedRpc(o => o.InstanceId = "health-stop").UseInMemoryTransport(_inMemory).UseInMemoryOwnershipStore().AddServer<EdgeService>();
        services.AddHealthChecks().AddTypedRpc();
        await using var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        var health = provider.GetRequiredService<HealthCheckService>();

        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);
        await runtime.StartAsync(CancellationToken.None);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
        await runtime.StopAsync(CancellationToken.None);
        var stopping = (await health.CheckHealthAsync()).Entries[TypedRpcHealthChecksBuilderExtensions.DefaultName];

        Assert.Equal(HealthStatus.Unhealthy, stopping.Status);
        Assert.Contains("stopping", stopping.Description, StringComparison.Ordinal);
    }

    private async Task<(WebApplication App, HttpClient Http)> StartAsync(Action<IHealthChecksBuilder> addCheck)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(new EdgeState());
        builder.Services.AddTypedRpc(o => o.InstanceId = "health-" + Guid.NewGuid().ToString("N"))
            .UseInMemoryTransport(_inMemory).UseInMemoryOwnershipStore()
            .AddServer<EdgeService>();
        builder.Services.RemoveAll<IRpcTransport>();
        builder.Services.AddSingleton<IRpcTransport>(_transport);
        addCheck(builder.Services.AddHealthChecks());
        var app = builder.Build();
        app.MapHealthChecks("/healthz");
        await app.StartAsync();
        _apps.Add(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) });
    }
}
