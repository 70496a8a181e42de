using System;
using System.Threading;

namespace TypedRpc.Tests.InMemory;

/// <summary>A clock that moves only when a test advances it (timers are not faked: only <see cref="GetUtcNow"/>).</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long _utcTicks = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);
}
