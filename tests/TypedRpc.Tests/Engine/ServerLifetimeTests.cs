using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Hosting;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>A contract that reports which server instance, and which scoped dependency, answered.</summary>
[AsyncSyncContract("lifetime-test")]
public interface ILifetimeService
{
    Task<string> WhoAsync();
}

/// <summary>Counts server instances and disposals.</summary>
public sealed class LifetimeProbe
{
    private int _next;

    public ConcurrentDictionary<int, bool> Disposed { get; } = new();

    public ConcurrentDictionary<int, bool> ScopedDisposed { get; } = new();

    public int Next() => Interlocked.Increment(ref _next);
}

/// <summary>A dependency, scoped unless the test registers the server class as a singleton.</summary>
public sealed class ScopedDependency(LifetimeProbe probe) : IDisposable
{
    public int Number { get; } = probe.Next();

    public void Dispose() => probe.ScopedDisposed[Number] = true;
}

public sealed class LifetimeService(LifetimeProbe probe, ScopedDependency scoped) : LifetimeServiceBase, IAsyncDisposable
{
    private readonly int _number = probe.Next();

    public override Task<string> WhoAsync(RpcServerCallContext context) => Task.FromResult($"{_number}/{scoped.Number}");

    public ValueTask DisposeAsync()
    {
        probe.Disposed[_number] = true;
        return ValueTask.CompletedTask;
    }
}

/// <summary>A server class whose constructor takes nothing: made and disposed per request without a scope.</summary>
public sealed class PlainLifetimeService : LifetimeServiceBase, IDisposable
{
    private static int s_next;

    private readonly int _number = Interlocked.Increment(ref s_next);

    public static ConcurrentDictionary<int, bool> Disposed { get; } = new();

    public override Task<string> WhoAsync(RpcServerCallContext context) => Task.FromResult(_number.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public void Dispose() => Disposed[_number] = true;
}

/// <summary>How a server class is made per request, and how a lifetime the application chose is kept.</summary>
public sealed class ServerLifetimeTests
{
    [Fact]
    public async Task ByDefault_EachRequestGetsANewInstance_FromItsOwnScope_DisposedAfterwards()
    {
        var probe = new LifetimeProbe();
        await using var provider = Build(probe, registerYourself: null);
        var client = provider.GetRequiredService<ILifetimeService>();

        var first = (await client.WhoAsync()).Split('/');
        var second = (await client.WhoAsync()).Split('/');

        Assert.NotEqual(first[0], second[0]);
        Assert.NotEqual(first[1], second[1]);
        foreach (var answer in new[] { first, second })
        {
            // Disposed once the request is done: the server class by the host, the dependency by the scope.
            await WaitUntilAsync(() => probe.Disposed.ContainsKey(int.Parse(answer[0])) && probe.ScopedDisposed.ContainsKey(int.Parse(answer[1])));
        }
    }

    [Fact]
    public async Task AServerClassWhoseConstructorTakesNothing_IsStillNewPerRequest_AndDisposedAfterwards()
    {
        IServiceCollection services = new ServiceCollection();
        services.AddTypedRpc(o =>
        {
            o.EnableOwnership = false;
            o.EnableClaims = false;
        }).UseInMemoryTransport().AddClient<ILifetimeService>().AddServer<PlainLifetimeService>();
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        await provider.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None);
        var client = provider.GetRequiredService<ILifetimeService>();

        var first = int.Parse(await client.WhoAsync(), System.Globalization.CultureInfo.InvariantCulture);
        var second = int.Parse(await client.WhoAsync(), System.Globalization.CultureInfo.InvariantCulture);

        Assert.NotEqual(first, second);
        await WaitUntilAsync(() => PlainLifetimeService.Disposed.ContainsKey(first) && PlainLifetimeService.Disposed.ContainsKey(second));
    }

    [Fact]
    public async Task ARegisteredServerClass_KeepsTheLifetimeTheApplicationChose()
    {
        var probe = new LifetimeProbe();
        await using var provider = Build(probe, registerYourself: ServiceLifetime.Singleton);
        var client = provider.GetRequiredService<ILifetimeService>();

        var first = (await client.WhoAsync()).Split('/');
        var second = (await client.WhoAsync()).Split('/');

        Assert.Equal(first[0], second[0]);
        Assert.False(probe.Disposed.ContainsKey(int.Parse(first[0])), "the host disposed a singleton it did not create");
    }

    [Fact]
    public async Task AServerClassWhoseConstructorCannotBeSatisfied_FailsTheStart_NamingTheMissingService()
    {
        IServiceCollection services = new ServiceCollection();
        services.AddSingleton(new LifetimeProbe());
        services.AddTypedRpc(o =>
        {
            o.EnableOwnership = false;
            o.EnableClaims = false;
        }).UseInMemoryTransport().AddServer<LifetimeService>();
        await using var provider = services.BuildServiceProvider();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None));
        Assert.Contains(typeof(ScopedDependency).FullName!, ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(LifetimeService), ex.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(LifetimeProbe probe, ServiceLifetime? registerYourself)
    {
        IServiceCollection services = new ServiceCollection();
        services.AddSingleton(probe);
        // A singleton server class cannot take a scoped dependency (ValidateScopes refuses it).
        services.Add(new ServiceDescriptor(typeof(ScopedDependency), typeof(ScopedDependency), registerYourself ?? ServiceLifetime.Scoped));
        services.AddTypedRpc(o =>
        {
            o.EnableOwnership = false;
            o.EnableClaims = false;
        }).UseInMemoryTransport().AddClient<ILifetimeService>().AddServer<LifetimeService>();
        if (registerYourself is { } lifetime)
        {
            // After AddServer: the order does not matter.
            services.Add(new ServiceDescriptor(typeof(LifetimeService), typeof(LifetimeService), lifetime));
        }

        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        provider.GetRequiredService<TypedRpcRuntime>().StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return provider;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(10);
        }
    }
}
