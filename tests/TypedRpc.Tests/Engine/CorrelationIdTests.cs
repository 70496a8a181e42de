using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>Fresh ids: UUIDv7 layout, and never repeated (random bytes are drawn in batches per thread).</summary>
public sealed class CorrelationIdTests
{
    [Fact]
    public void NewId_IsAVersion7Uuid_CarryingTheTimeItWasMade()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var id = CorrelationId.NewId();
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var bytes = id.ToByteArray();
        Assert.Equal(0x70, bytes[6] & 0xF0); // version 7
        Assert.Equal(0x80, bytes[8] & 0xC0); // variant 10
        var ms = ((long)bytes[0] << 40) | ((long)bytes[1] << 32) | ((long)bytes[2] << 24) | ((long)bytes[3] << 16) | ((long)bytes[4] << 8) | bytes[5];
        Assert.InRange(ms, before, after);
        Assert.Equal(id, CorrelationId.Parse(id.ToString()));
    }

    [Fact]
    public void NewId_NeverRepeats_AcrossThreadsAndRandomBatches()
    {
        // Many ids a millisecond share their time bits: only the random bits tell them apart, so an
        // id made from bytes another id already used would show up here as a duplicate.
        const int PerThread = 20_000; // 312 random batches a thread; light, as other tests run alongside
        var seen = new ConcurrentDictionary<CorrelationId, byte>();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                Assert.True(seen.TryAdd(CorrelationId.NewId(), 0), "an id was made twice");
            }
        });

        Assert.Equal(4 * PerThread, seen.Count);

        // And the random bits vary: no byte position is stuck.
        var ids = seen.Keys.Take(1_000).Select(id => id.ToByteArray()).ToArray();
        for (var position = 9; position < CorrelationId.Size; position++)
        {
            Assert.True(ids.Select(b => b[position]).Distinct().Count() > 100, $"byte {position} hardly varies");
        }
    }
}
