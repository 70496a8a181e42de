using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TypedRpc.Hosting;
using TypedRpc.InMemory;
using TypedRpc.Tests.Shared;
using TypedRpc.Tests.Support;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// <see cref="IRpcReadiness"/>: started is not ready until every server is assigned its share of the
/// requests and the client is prepared to send; what is missing is named; waits complete, cancel,
/// or fail when the host stops first; the start can be made to wait for it.
/// </summary>
public sealed class ReadinessTests : IAsyncLifetime
{
    private readonly InMemoryRpcTransport _inMemory = new();
    private readonly GatedTransport _transport;

    public ReadinessTests() => _transport = new GatedTransport(_inMemory) { HoldAssignments = true };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _inMemory.DisposeAsync();

    [Fact]
    public async Task WithTheInMemoryTransport_AnInstanceIsReadyWhenItsStartReturns()
    {
        await using var cluster = new TestCluster();
        var readiness = (await cluster.StartAsync(client: true, server: true)).Services.GetRequiredService<IRpcReadiness>();

        Assert.True(readiness.IsReady);
        Assert.Empty(readiness.NotReady);
        await readiness.WaitUntilReadyAsync().WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ReadinessWaitsForEveryServersFirstAssignment_AndNamesTheServersStillWaiting()
    {
        await using var provider = GatedHost.Build(_transport, b => b.AddServer<TestService>().AddServer<Generated.ShapesService>());
        var readiness = provider.GetRequiredService<IRpcReadiness>();
        Assert.False(readiness.IsReady);
        Assert.Equal(new[] { "TypedRpc has not started" }, readiness.NotReady);

        await provider.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None);
        var wait = readiness.WaitUntilReadyAsync();

        Assert.False(readiness.IsReady);
        Assert.Equal(2, readiness.NotReady.Count);
        Assert.Contains(readiness.NotReady, n => n.Contains("'engine-test'", StringComparison.Ordinal) && n.Contains("partition assignment", StringComparison.Ordinal));
        Assert.Contains(readiness.NotReady, n => n.Contains("'shapes'", StringComparison.Ordinal));

        _transport.Assignment("engine-test").SetResult();
        await WaitUntilAsync(() => readiness.NotReady.Count == 1);
        Assert.Contains("'shapes'", Assert.Single(readiness.NotReady), StringComparison.Ordinal);
        Assert.False(readiness.IsReady);
        Assert.False(wait.IsCompleted);

        _transport.Assignment("shapes").SetResult();
        await wait.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(readiness.IsReady);
        Assert.Empty(readiness.NotReady);
    }

    [Fact]
    public async Task TheClient_IsNotReadyUntilTheTransportIsPreparedToSend()
    {
        var prepared = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _transport.PrepareGate = prepared.Task;
        await using var provider = GatedHost.Build(_transport, b => b.AddClient<ITestService>());
        var readiness = provider.GetRequiredService<IRpcReadiness>();

        var start = provider.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None);
        await WaitUntilAsync(() => !_transport.Prepared.IsEmpty);

        Assert.False(readiness.IsReady);
        Assert.StartsWith("client:", Assert.Single(readiness.NotReady), StringComparison.Ordinal);
        prepared.SetResult();
        await start.WaitAsync(TimeSpan.FromSeconds(5));
        await readiness.WaitUntilReadyAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(readiness.IsReady);
    }

    [Fact]
    public async Task ACancelledWait_ThrowsOperationCanceledException_AndReadinessStillComes()
    {
        await using var provider = GatedHost.Build(_transport, b => b.AddServer<TestService>());
        var readiness = provider.GetRequiredService<IRpcReadiness>();
        await provider.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None);

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => readiness.WaitUntilReadyAsync(cancel.Token)).WaitAsync(TimeSpan.FromSeconds(5));

        _transport.Assignment("engine-test").SetResult();
        await readiness.WaitUntilReadyAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(readiness.IsReady);
    }

    [Fact]
    public async Task Stopping_EndsReadiness_ButAWaitForAReadinessReachedBeforeStillCompletes()
    {
        _transport.HoldAssignments = false;
        await using var provider = GatedHost.Build(_transport, b => b.AddServer<TestService>().AddClient<ITestService>());
        var readiness = provider.GetRequiredService<IRpcReadiness>();
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        Assert.True(readiness.IsReady);

        await runtime.StopAsync(CancellationToken.None);

        Assert.False(readiness.IsReady);
        Assert.Equal(new[] { "TypedRpc is stopping" }, readiness.NotReady);
        await readiness.WaitUntilReadyAsync().WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task StoppingBeforeReady_FailsTheWaits()
    {
        await using var provider = GatedHost.Build(_transport, b => b.AddServer<TestService>());
        var readiness = provider.GetRequiredService<IRpcReadiness>();
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        var wait = readiness.WaitUntilReadyAsync();

        await runtime.StopAsync(CancellationToken.None);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => wait).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Contains("stopped before it was ready", ex.Message, StringComparison.Ordinal);
        Assert.False(readiness.IsReady);
    }

    [Fact]
    public async Task AFailedStart_FailsTheWaits_AndNotReadySaysWhy()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new TestState());
        services.AddTypedRpc(o => { o.EnableClaims = false; o.EnableOwnership = false; }).AddServer<TestService>();
        await using var provider = services.BuildServiceProvider();
        var readiness = provider.GetRequiredService<IRpcReadiness>();
        var wait = readiness.WaitUntilReadyAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => provider.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None));

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => wait).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Contains("has no transport", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("TypedRpc failed to start:", Assert.Single(readiness.NotReady), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForReadinessOnStart_StartReturnsOnlyOnceReady()
    {
        await using var provider = GatedHost.Build(_transport, b => b.AddServer<TestService>(), o => o.WaitForReadinessOnStart = true);
        var readiness = provider.GetRequiredService<IRpcReadiness>();

        var start = provider.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None);
        await Task.Delay(200);
        Assert.False(start.IsCompleted, "start returned before the server was assigned");

        _transport.Assignment("engine-test").SetResult();
        await start.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(readiness.IsReady);
    }

    [Fact]
    public async Task WaitForReadinessOnStart_GivesUpAfterReadinessTimeout_WithAWarningNamingWhatIsNotReady()
    {
        var logger = new CapturingLogger<TypedRpcRuntime>();
        await using var provider = GatedHost.Build(_transport, b => b.AddServer<TestService>(),
            o => { o.WaitForReadinessOnStart = true; o.ReadinessTimeout = TimeSpan.FromMilliseconds(300); },
            s => s.AddSingleton<ILogger<TypedRpcRuntime>>(logger));

        var watch = Stopwatch.StartNew();
        await provider.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.InRange(watch.ElapsedMilliseconds, 250, 9_000);
        Assert.False(provider.GetRequiredService<IRpcReadiness>().IsReady);
        var warning = Assert.Single(logger.Entries, e => e.EventId == 36);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("TypedRpc:ReadinessTimeout", warning.Message, StringComparison.Ordinal);
        Assert.Contains("'engine-test'", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANonPositiveReadinessTimeout_FailsValidationNamingTheSetting()
    {
        var services = new ServiceCollection();
        services.AddTypedRpc(o => o.ReadinessTimeout = TimeSpan.Zero).UseInMemoryTransport();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TypedRpcOptions>>().Value);
        Assert.Contains("TypedRpc:ReadinessTimeout", ex.Message, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "condition not met within 10 s");
            await Task.Delay(10);
        }
    }
}
