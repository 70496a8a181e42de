using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>Start and stop with the host: draining servers, failing clients, validated configuration.</summary>
public sealed class HostingTests
{
    [Fact]
    public async Task StoppingAServer_LetsItsRunningRequestsFinish_AndTheirRepliesArrive()
    {
        await using var cluster = new TestCluster();
        var server = await cluster.StartAsync(client: false, server: true);
        var client = await cluster.StartAsync(client: true, server: false);

        var call = client.Client.EchoAsync(7, delayMs: 600);
        await WaitUntilAsync(() => Volatile.Read(ref cluster.State.Executions) == 1);
        var watch = Stopwatch.StartNew();
        await server.StopAsync();

        // Stop waited for the running request (drain), and its reply was sent before it returned.
        Assert.InRange(watch.ElapsedMilliseconds, 300, 9_000);
        Assert.True(cluster.Transport.RepliesSent == 1, "the reply was not sent before the server finished stopping");
        Assert.Equal(7, await call.WaitAsync(TimeSpan.FromSeconds(5))); // the client takes it on the thread pool
    }

    [Fact]
    public async Task TheDrain_IsBoundedByShutdownDrainTimeout()
    {
        await using var cluster = new TestCluster();
        var server = await cluster.StartAsync(client: false, server: true, configure: o => o.ShutdownDrainTimeout = TimeSpan.FromMilliseconds(300));
        var client = await cluster.StartAsync(client: true, server: false, configure: o => o.ShutdownDrainTimeout = TimeSpan.FromMilliseconds(300));

        // A handler that never finishes on its own.
        var call = client.Client.WaitForGateAsync("never");
        await WaitUntilAsync(() => cluster.State.Gates.ContainsKey("never"));
        var watch = Stopwatch.StartNew();
        await server.StopAsync();

        Assert.InRange(watch.ElapsedMilliseconds, 250, 5_000);
        Assert.False(call.IsCompleted);
    }

    [Fact]
    public async Task StoppingAClient_WaitsForItsPendingCalls_AndRefusesNewOnes()
    {
        await using var cluster = new TestCluster();
        await cluster.StartAsync(client: false, server: true);
        var client = await cluster.StartAsync(client: true, server: false);

        var call = client.Client.WaitForGateAsync("held");
        await WaitUntilAsync(() => cluster.State.Gates.ContainsKey("held"));
        var stopping = client.StopAsync();
        await WaitUntilAsync(() => client.RpcClient.PendingCount == 1 && !stopping.IsCompleted);

        // A new call is refused at once, before anything is sent.
        var sentBefore = cluster.Transport.RequestsSent;
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.Client.EchoAsync(1, delayMs: 0)).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(RpcStatusCode.Unavailable, refused.StatusCode);
        Assert.Equal("The client is shutting down.", refused.Status.Detail);
        Assert.Equal(sentBefore, cluster.Transport.RequestsSent);

        // The waiting call still gets its reply; then the stop completes.
        Assert.False(stopping.IsCompleted);
        cluster.State.Gate("held").TrySetResult();
        await call.WaitAsync(TimeSpan.FromSeconds(5));
        await stopping.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, client.RpcClient.PendingCount);
    }

    [Fact]
    public async Task StoppingAClient_FailsCallsStillWaitingAfterTheDrainTimeout_WithUnavailable()
    {
        await using var cluster = new TestCluster();
        await cluster.StartAsync(client: false, server: true);
        var client = await cluster.StartAsync(client: true, server: false, configure: o => o.ShutdownDrainTimeout = TimeSpan.FromMilliseconds(300));

        var call = client.Client.WaitForGateAsync("held");
        await WaitUntilAsync(() => cluster.State.Gates.ContainsKey("held"));
        var watch = Stopwatch.StartNew();
        await client.StopAsync().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.InRange(watch.ElapsedMilliseconds, 250, 5_000);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(RpcStatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("stopped before the reply arrived", ex.Status.Detail, StringComparison.Ordinal);
        Assert.NotNull(ex.CorrelationId);
        Assert.Equal(0, client.RpcClient.PendingCount);
        cluster.State.Gate("held").TrySetResult();
    }

    [Fact]
    public async Task TheGenericHost_StartsTypedRpcFromConfiguration_AndStopsIt()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["TypedRpc:InstanceId"] = "hosted-1",
            ["TypedRpc:DefaultTimeout"] = "00:00:05",
        });
        builder.Services.AddSingleton(new TestState());
        builder.Services.AddTypedRpc(builder.Configuration.GetSection("TypedRpc"))
            .UseInMemoryTransport().UseInMemoryOwnershipStore()
            .AddClient<ITestService>().AddServer<TestService>();
        using var host = builder.Build();

        await host.StartAsync();
        Assert.Equal(42, await host.Services.GetRequiredService<ITestService>().EchoAsync(42, 0));
        Assert.Equal("hosted-1", host.Services.GetRequiredService<RpcClient>().InstanceId);
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task TheGenericHost_RefusesToStart_WithAnInvalidSetting_NamingIt()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["TypedRpc:DefaultTimeout"] = "-00:00:01",
        });
        builder.Services.AddSingleton(new TestState());
        builder.Services.AddTypedRpc(builder.Configuration.GetSection("TypedRpc"))
            .UseInMemoryTransport().AddClient<ITestService>();
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("TypedRpc:DefaultTimeout", ex.Message, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "timed out waiting for the condition");
            await Task.Delay(10);
        }
    }
}
