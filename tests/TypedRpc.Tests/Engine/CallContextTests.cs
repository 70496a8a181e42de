using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// <see cref="RpcCallContext"/>: options for the calls of a scope, for methods without an
/// <see cref="RpcCallOptions"/> parameter; and a call before TypedRpc is started.
/// </summary>
public sealed class CallContextTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new();
    private TestInstance _instance = null!;

    public async Task InitializeAsync() => _instance = await _cluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task AScopesIdempotencyKey_ReachesAMethodWithoutOptions_SoARetryDoesNotRunItAgain()
    {
        // SideEffectAsync has no RpcCallOptions parameter.
        int first, second;
        using (RpcCallContext.With(RpcCallOptions.Default.WithIdempotencyKey("scoped-key")))
        {
            first = await _instance.Client.SideEffectAsync("scoped", 0);
        }

        using (RpcCallContext.With(RpcCallOptions.Default.WithIdempotencyKey("scoped-key")))
        {
            second = await _instance.Client.SideEffectAsync("scoped", 0);
        }

        Assert.Equal(1, first);
        Assert.Equal(1, second);
        Assert.Equal(1, _cluster.State.SideEffects["scoped"]);

        // Without the scope the same call runs again.
        Assert.Equal(2, await _instance.Client.SideEffectAsync("scoped", 0));
    }

    [Fact]
    public async Task AScopesTimeout_ReplacesTheMethodsOwn()
    {
        // ShortTimeoutAsync's [RpcTimeout] is 300 ms.
        await Assert.ThrowsAsync<RpcException>(() => _instance.Client.ShortTimeoutAsync(600));
        using (RpcCallContext.With(RpcCallOptions.Default.WithTimeout(TimeSpan.FromSeconds(5))))
        {
            Assert.Equal("late:600", await _instance.Client.ShortTimeoutAsync(600));
        }
    }

    [Fact]
    public async Task ACallsOwnOptions_WinOverTheScope()
    {
        using (RpcCallContext.With(RpcCallOptions.Default.WithTimeout(TimeSpan.FromMilliseconds(200)).WithHeaders(new Dictionary<string, string> { ["from"] = "scope" })))
        {
            var headers = await _instance.Client.OptionsAsync(400, RpcCallOptions.Default.WithTimeout(TimeSpan.FromSeconds(5)).WithHeaders(new Dictionary<string, string> { ["own"] = "call" }));
            Assert.Equal("own", headers);
        }
    }

    [Fact]
    public async Task AScopesToken_CancelsACallWithoutOne()
    {
        using var cts = new CancellationTokenSource();
        Task<string> call;
        using (RpcCallContext.With(RpcCallOptions.Default.WithCancellationToken(cts.Token)))
        {
            call = _instance.Client.WaitForGateAsync("scope-token");
        }

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    [Fact]
    public void Scopes_Nest_AndDisposingOneRestoresTheOuter()
    {
        Assert.Null(RpcCallContext.Current);
        using (RpcCallContext.With(RpcCallOptions.Default.WithIdempotencyKey("outer")))
        {
            using (RpcCallContext.With(RpcCallOptions.Default.WithIdempotencyKey("inner")))
            {
                Assert.Equal("inner", RpcCallContext.Current?.IdempotencyKey);
            }

            Assert.Equal("outer", RpcCallContext.Current?.IdempotencyKey);
            var merged = RpcCallContext.Apply(RpcCallOptions.Default.WithIdempotencyKey("own"));
            Assert.Equal("own", merged.IdempotencyKey);
        }

        Assert.Null(RpcCallContext.Current);
    }

    [Fact]
    public void Apply_FillsOnlyWhatTheCallLeavesUnset()
    {
        var deadline = DateTimeOffset.UtcNow.AddMinutes(1);
        using var cts = new CancellationTokenSource();
        using (RpcCallContext.With(RpcCallOptions.Default.WithDeadline(deadline).WithMaxWait(TimeSpan.FromSeconds(1)).WithCancellationToken(cts.Token)))
        {
            var merged = RpcCallContext.Apply(RpcCallOptions.Default.WithTimeout(TimeSpan.FromSeconds(3)));
            Assert.Equal(TimeSpan.FromSeconds(3), merged.Timeout);
            Assert.Null(merged.Deadline);
            Assert.Equal(TimeSpan.FromSeconds(1), merged.MaxWait);
            Assert.Equal(cts.Token, merged.CancellationToken);

            var unset = RpcCallContext.Apply(RpcCallOptions.Default);
            Assert.Equal(deadline, unset.Deadline);
        }
    }

    [Fact]
    public async Task ACallBeforeTypedRpcIsStarted_FailsAtOnceUnavailable_SayingSo()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new TestState());
        services.AddTypedRpc(o => o.InstanceId = "never-started")
            .UseInMemoryTransport()
            .UseInMemoryOwnershipStore()
            .AddClient<ITestService>()
            .AddServer<TestService>();
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<ITestService>();

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(() => client.EchoAsync(1, 0));
        Assert.Equal(RpcStatusCode.Unavailable, error.StatusCode);
        Assert.Contains("not started", error.Status.Detail, StringComparison.Ordinal);
        Assert.True(watch.ElapsedMilliseconds < 1_000, $"took {watch.ElapsedMilliseconds} ms");

        // Started, the same client works.
        await provider.GetRequiredService<Hosting.TypedRpcRuntime>().StartAsync(CancellationToken.None);
        Assert.Equal(1, await client.EchoAsync(1, 0));
        await provider.GetRequiredService<Hosting.TypedRpcRuntime>().StopAsync(CancellationToken.None);
    }
}
