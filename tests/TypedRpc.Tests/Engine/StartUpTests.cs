using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Hosting;
using TypedRpc.InMemory;
using TypedRpc.Tests.Support;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// What the host's start does before it returns: the transport is prepared for every client
/// contract, and for the replies of every served contract before its servers subscribe.
/// </summary>
public sealed class StartUpTests
{
    [Fact]
    public async Task Start_PreparesTheTransportForEachClientContractOnce_AndReturnsOnlyWhenThatIsDone()
    {
        await using var inMemory = new InMemoryRpcTransport();
        var transport = new GatedTransport(inMemory);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        transport.PrepareGate = gate.Task;
        await using var provider = GatedHost.Build(transport, b => b.AddClient<ITestService>().AddClient<Generated.IShapes>().AddClient<ITestService>());
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();

        var start = runtime.StartAsync(CancellationToken.None);
        await WaitUntilAsync(() => !transport.Prepared.IsEmpty);
        await Task.Delay(100);
        Assert.False(start.IsCompleted, "start returned before the transport was prepared");

        gate.SetResult();
        await start.WaitAsync(TimeSpan.FromSeconds(5));
        var prepared = Assert.Single(transport.Prepared);
        Assert.Equal(new[] { "engine-test", "shapes" }, prepared.Select(s => s.ServiceName).ToArray());
        Assert.Empty(transport.PreparedToReply);
        await runtime.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AServerOnlyInstance_PreparesNoSending_OnlyItsReplies_BeforeItsServersSubscribe()
    {
        await using var inMemory = new InMemoryRpcTransport();
        var transport = new GatedTransport(inMemory);
        await using var provider = GatedHost.Build(transport, b => b.AddServer<TestService>());
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();

        await runtime.StartAsync(CancellationToken.None);

        Assert.Empty(transport.Prepared);
        var (services, subscriptionsBefore) = Assert.Single(transport.PreparedToReply);
        Assert.Equal("engine-test", Assert.Single(services).ServiceName);
        Assert.Equal(0, subscriptionsBefore);
        await runtime.StopAsync(CancellationToken.None);
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
