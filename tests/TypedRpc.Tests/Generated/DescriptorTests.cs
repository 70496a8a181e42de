using System;
using System.Linq;
using Xunit;

namespace TypedRpc.Tests.Generated;

public sealed class DescriptorTests
{
    [Fact]
    public void Descriptor_DescribesEveryMethod()
    {
        var service = RpcContracts.Get<IShapes>().Descriptor;

        Assert.Same(ShapesDescriptor.Service, service);
        Assert.Equal("shapes", service.ServiceName);
        Assert.Equal("shapes.requests", service.Topic);
        Assert.Equal(typeof(IShapes), service.ContractType);
        Assert.Equal(TimeSpan.FromSeconds(15), service.DefaultTimeout);
        Assert.Equal(
            new[] { "Ping", "Touch", "Add", "Echo", "RoundTrip", "Range", "Count", "Keywords", "Optional" },
            service.Methods.Select(m => m.Name));
        Assert.Equal(Enumerable.Range(0, 9), service.Methods.Select(m => m.Index));
    }

    [Fact]
    public void MethodDescriptors_CarryKindTimeoutKeyAndResponseType()
    {
        var ping = ShapesDescriptor.PingMethod;
        Assert.Equal(RpcMethodKind.NoResult, ping.Kind);
        Assert.Null(ping.ResponseType);
        Assert.Null(ping.Timeout);
        Assert.Equal("shapes/Ping", ping.FullName);

        var roundTrip = ShapesDescriptor.RoundTripMethod;
        Assert.Equal(RpcMethodKind.Unary, roundTrip.Kind);
        Assert.Equal(typeof(Payload), roundTrip.ResponseType);
        Assert.Equal(TimeSpan.FromSeconds(1), roundTrip.Timeout);
        Assert.Equal(TimeSpan.FromMilliseconds(500), roundTrip.ExtendBy);
        Assert.True(roundTrip.ReturnsRpcResult);
        Assert.True(roundTrip.HasKey);
        Assert.Equal("RoundTripAsync", roundTrip.ClrName);

        var count = ShapesDescriptor.CountMethod;
        Assert.Equal(RpcMethodKind.ServerStreaming, count.Kind);
        Assert.Equal(typeof(int), count.ResponseType);

        Assert.Equal(typeof(string), ShapesDescriptor.EchoMethod.ResponseType);
        Assert.True(ShapesDescriptor.Service.TryFindMethod("Add", out var add));
        Assert.Same(ShapesDescriptor.AddMethod, add);
        Assert.False(ShapesDescriptor.Service.TryFindMethod("AddAsync", out _));
    }

    [Fact]
    public void MethodDescriptors_ListTheArgumentsSentToTheServer_NotTheTokenOrCallOptions()
    {
        Assert.Empty(ShapesDescriptor.PingMethod.Parameters);
        Assert.Equal([("name", typeof(string))], ShapesDescriptor.TouchMethod.Parameters.Select(p => (p.Name, p.Type)));
        Assert.Equal([("text", typeof(string))], ShapesDescriptor.EchoMethod.Parameters.Select(p => (p.Name, p.Type)));
        Assert.Equal([("id", typeof(Guid)), ("payload", typeof(Payload))], ShapesDescriptor.RoundTripMethod.Parameters.Select(p => (p.Name, p.Type)));
        Assert.Equal([("region", typeof(Region)), ("to", typeof(int))], ShapesDescriptor.CountMethod.Parameters.Select(p => (p.Name, p.Type)));

        // C# keywords are named as on the wire, without their '@'.
        Assert.Equal(["event", "class", "context", "Key", "writer"], ShapesDescriptor.KeywordsMethod.Parameters.Select(p => p.Name));
        Assert.Equal(typeof(decimal), ShapesDescriptor.OptionalMethod.Parameters[2].Type);
    }

    [Fact]
    public void AServerClass_NamesItsContractThroughItsType()
    {
        Assert.Same(ShapesDescriptor.Service, DescriptorOf<ShapesService>());
        Assert.Same(OuterNestedDescriptor.Service, DescriptorOf<NestedService>());
        Assert.Same(ShapesDescriptor.Service, ((IRpcServiceBinding)new ShapesService()).Descriptor);
    }

    private static RpcServiceDescriptor DescriptorOf<T>()
        where T : IRpcServiceDefinition => T.ServiceDescriptor;

    [Fact]
    public void ContractsInAnotherAssembly_RegisterThroughTheirModuleInitializer()
    {
        Assert.True(RpcContracts.TryGetDescriptor(typeof(Quickstart.Contracts.IPricingService), out var descriptor));
        Assert.Equal("pricing", descriptor.ServiceName);
        Assert.Contains(descriptor, RpcContracts.Registered);
    }

    [Fact]
    public void ANonContractType_IsAClearError()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => RpcContracts.Get<IDisposable>());
        Assert.Contains("not a TypedRpc contract", ex.Message, StringComparison.Ordinal);
        Assert.False(RpcContracts.TryGetDescriptor(typeof(IDisposable), out _));
    }

    public interface IClashA;

    public interface IClashB;

    [Fact]
    public void TwoContractsWithOneServiceName_AreBothRefusedAtRunTime()
    {
        // Contracts from different assemblies can clash; the generator can only see one compilation.
        RpcContracts.Register<IClashA>(new RpcServiceDescriptor("clash-test", typeof(IClashA), null, 0, Array.Empty<RpcMethodDescriptor>()), _ => null!);
        RpcContracts.Register<IClashB>(new RpcServiceDescriptor("clash-test", typeof(IClashB), null, 0, Array.Empty<RpcMethodDescriptor>()), _ => null!);

        Assert.Contains("clash-test", Assert.Throws<InvalidOperationException>(() => RpcContracts.Get<IClashA>()).Message, StringComparison.Ordinal);
        Assert.Contains("clash-test", Assert.Throws<InvalidOperationException>(() => RpcContracts.Get<IClashB>()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ServiceDescriptor_RefusesDuplicateOrMisplacedMethods()
    {
        var a = new RpcMethodDescriptor(0, "A", "AAsync", RpcMethodKind.NoResult, null, 0, 0, false, false);
        var a2 = new RpcMethodDescriptor(1, "A", "AAsync", RpcMethodKind.NoResult, null, 0, 0, false, false);
        Assert.Throws<ArgumentException>(() => new RpcServiceDescriptor("s", typeof(IDisposable), null, 0, new[] { a, a2 }));

        var misplaced = new RpcMethodDescriptor(3, "B", "B", RpcMethodKind.NoResult, null, 0, 0, false, false);
        Assert.Throws<ArgumentException>(() => new RpcServiceDescriptor("s", typeof(IDisposable), null, 0, new[] { misplaced }));

        Assert.Throws<ArgumentException>(() => new RpcMethodDescriptor(0, "C", "C", RpcMethodKind.Unary, null, 0, 0, false, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RpcMethodDescriptor(0, "C", "C", RpcMethodKind.NoResult, null, -1, 0, false, false));
    }
}
