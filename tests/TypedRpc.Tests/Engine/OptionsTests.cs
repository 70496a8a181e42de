using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace TypedRpc.Tests.Engine;

public sealed class OptionsTests
{
    [Theory]
    [InlineData("DefaultTimeout")]
    [InlineData("MaxPendingCalls")]
    [InlineData("InstanceId")]
    [InlineData("StoreOperationTimeout")]
    public void InvalidOptions_FailWithAMessageNamingTheSetting(string setting)
    {
        var services = new ServiceCollection();
        services.AddTypedRpc(o =>
        {
            switch (setting)
            {
                case "DefaultTimeout": o.DefaultTimeout = TimeSpan.Zero; break;
                case "MaxPendingCalls": o.MaxPendingCalls = 0; break;
                case "InstanceId": o.InstanceId = "has space"; break;
                case "StoreOperationTimeout": o.StoreOperationTimeout = TimeSpan.FromSeconds(-1); break;
            }
        }).UseInMemoryTransport();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TypedRpcOptions>>().Value);
        Assert.Contains("TypedRpc:" + setting, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_BindFromTheTypedRpcSection()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new System.Collections.Generic.Dictionary<string, string?>
        {
            ["TypedRpc:InstanceId"] = "from-config",
            ["TypedRpc:DefaultTimeout"] = "00:00:07",
            ["TypedRpc:WhenPendingCallsFull"] = "Fail",
            ["TypedRpc:MaxConcurrentRequests"] = "5",
        }).Build();
        var services = new ServiceCollection();
        services.AddTypedRpc(configuration.GetSection(TypedRpcOptions.SectionName), o => o.IncludeExceptionDetails = true).UseInMemoryTransport();
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<TypedRpcOptions>>().Value;
        Assert.Equal("from-config", options.InstanceId);
        Assert.Equal(TimeSpan.FromSeconds(7), options.DefaultTimeout);
        Assert.Equal(PendingCallLimitMode.Fail, options.WhenPendingCallsFull);
        Assert.Equal(5, options.MaxConcurrentRequests);
        Assert.True(options.IncludeExceptionDetails);
    }

    [Fact]
    public void ABadConfigurationValue_IsNamedInTheError()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new System.Collections.Generic.Dictionary<string, string?>
        {
            ["TypedRpc:MaxPendingCalls"] = "0",
        }).Build();
        var services = new ServiceCollection();
        services.AddTypedRpc(configuration.GetSection(TypedRpcOptions.SectionName)).UseInMemoryTransport();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TypedRpcOptions>>().Value);
        Assert.Contains("TypedRpc:MaxPendingCalls", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoTransport_IsAClearErrorOnStart()
    {
        var services = new ServiceCollection();
        services.AddTypedRpc().AddClient<ITestService>();
        await using var provider = services.BuildServiceProvider();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.GetRequiredService<Hosting.TypedRpcRuntime>().StartAsync(default));
        Assert.Contains("UseInMemoryTransport", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoServerClassesForOneContract_AreRefused()
    {
        var builder = new ServiceCollection().AddTypedRpc();
        builder.AddServer<TestService>();

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddServer<OtherTestService>());
        Assert.Contains("engine-test", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AClientForANonContract_IsAClearError()
    {
        var builder = new ServiceCollection().AddTypedRpc();
        Assert.Throws<InvalidOperationException>(() => builder.AddClient<IDisposable>());
    }

    private sealed class OtherTestService() : TestServiceBase
    {
        public override Task<int> EchoAsync(int value, int delayMs, RpcServerCallContext context) => throw new NotSupportedException();
        public override Task<string> ShortTimeoutAsync(int delayMs, RpcServerCallContext context) => throw new NotSupportedException();
        public override Task<string> ExtendedAsync(int delayMs, RpcServerCallContext context) => throw new NotSupportedException();
        public override Task<string> ResultAsync(int delayMs, string? fail, RpcServerCallContext context) => throw new NotSupportedException();
        public override Task<string> OptionsAsync(int delayMs, RpcServerCallContext context) => throw new NotSupportedException();
        public override Task<string> SlowResultAsync(int delayMs, RpcServerCallContext context) => throw new NotSupportedException();
        public override Task FailAsync(string kind, RpcServerCallContext context) => throw new NotSupportedException();
        public override Task<int> SideEffectAsync(string key, int delayMs, RpcServerCallContext context) => throw new NotSupportedException();
        public override Task<int> EffectAsync(string key, int delayMs, RpcServerCallContext context) => throw new NotSupportedException();
        public override System.Collections.Generic.IAsyncEnumerable<int> StreamAsync(int count, int failAfter, int delayMs, RpcServerCallContext context) => throw new NotSupportedException();
        public override Task<string> WaitForGateAsync(string gate, RpcServerCallContext context) => throw new NotSupportedException();
        public override System.Collections.Generic.IAsyncEnumerable<int> TickAsync(string name, int count, int delayMs, bool endQuietly, RpcServerCallContext context) => throw new NotSupportedException();
        public override Task<string> HoldAsync(string name, RpcServerCallContext context) => throw new NotSupportedException();
    }
}
