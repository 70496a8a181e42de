using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using TypedRpc.Benchmarks.Contract;

namespace TypedRpc.Benchmarks.InMemory;

/// <summary>One sequential request/reply per operation, for BenchmarkDotNet (time and bytes allocated, every thread's).</summary>
[MemoryDiagnoser]
public class OverheadBenchmarks
{
    private TypedRpcInMemory? _typedRpc;
    private MassTransitInMemory? _massTransit;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _typedRpc = await TypedRpcInMemory.StartAsync();
        _massTransit = await MassTransitInMemory.StartAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _typedRpc!.DisposeAsync();
        await _massTransit!.DisposeAsync();
    }

    [Benchmark(Description = "TypedRpc")]
    public Task<QuoteReply> TypedRpc() => _typedRpc!.CallAsync();

    [Benchmark(Baseline = true, Description = "MassTransit")]
    public Task<QuoteReply> MassTransit() => _massTransit!.CallAsync();

    [Benchmark(Description = "Direct (no RPC)")]
    public Task<QuoteReply> Direct() => DirectCall.CallAsync();
}
