using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TypedRpc.Tests.Support;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// A status a handler chooses (NotFound, FailedPrecondition…) is an expected answer, logged at
/// Debug; a handler that breaks is an Error with its exception.
/// </summary>
public sealed class ServerLogLevelTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new();
    private readonly LogRecorder _logs = new();
    private TestInstance _instance = null!;

    public async Task InitializeAsync() =>
        _instance = await _cluster.StartAsync(decorate: services => services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(_logs)));

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task AStatusTheHandlerChose_IsLoggedAtDebug_NotAsAWarning()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _instance.Client.FailAsync("rpc"));
        Assert.Equal(RpcStatusCode.PermissionDenied, error.StatusCode);
        var failed = await _instance.Client.ResultAsync(0, "no stock");
        Assert.Equal(RpcStatusCode.FailedPrecondition, failed.Status.StatusCode);

        var about = _logs.Entries.Where(e => e.Message.Contains("answered", StringComparison.Ordinal)).ToArray();
        Assert.Contains(about, e => e.Level == LogLevel.Debug && e.Message.Contains("PermissionDenied", StringComparison.Ordinal));
        Assert.Contains(about, e => e.Level == LogLevel.Debug && e.Message.Contains("FailedPrecondition", StringComparison.Ordinal));
        Assert.DoesNotContain(_logs.Entries, e => e.Level >= LogLevel.Warning && e.Category.StartsWith("TypedRpc", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AHandlerThatThrows_IsLoggedAsAnError()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _instance.Client.FailAsync("generic"));
        Assert.Equal(RpcStatusCode.Internal, error.StatusCode);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Error && e.Exception is InvalidOperationException);
    }

    [Fact]
    public async Task ArgumentsTheContractDoesNotAllow_AreStillAWarning()
    {
        // Not a status the handler chose: the caller has a bug, or speaks another contract version.
        await using var peer = new RawPeer(_cluster.Transport);
        await peer.ListenAsync("raw-log-peer");
        await peer.SendRequestAsync(TestServiceDescriptor.Service, "Echo", "{\"value\":\"seven\",\"delayMs\":0}");
        Assert.Equal(RpcStatusCode.InvalidArgument, (await peer.NextReplyAsync()).Status);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Argument 'value'", StringComparison.Ordinal));
    }
}
