using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using TypedRpc.Client;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>The pending-call table against a dictionary, through growth, shrinking and deletions inside probe runs.</summary>
public sealed class PendingTableTests
{
    private static UnaryCall Call(CorrelationId id) => new(null!, id, null, long.MaxValue);

    [Fact]
    public void RandomAddsAndRemoves_MatchADictionary()
    {
        var random = new Random(12345);
        var table = new PendingTable();
        var model = new Dictionary<CorrelationId, UnaryCall>();
        var ids = Enumerable.Range(0, 5_000).Select(_ => CorrelationId.NewId()).ToArray();
        for (var step = 0; step < 200_000; step++)
        {
            var id = ids[random.Next(ids.Length)];
            switch (random.Next(3))
            {
                case 0:
                    var call = Call(id);
                    Assert.Equal(model.TryAdd(id, call), table.TryAdd(call));
                    break;
                case 1:
                    // Removing a different call under the same id must not remove the one in the table.
                    var other = model.TryGetValue(id, out var present) && random.Next(4) == 0 ? Call(id) : present;
                    var removed = other is not null && ReferenceEquals(other, present) && model.Remove(id);
                    Assert.Equal(removed, other is not null && table.TryRemove(other));
                    break;
                default:
                    Assert.Equal(model.TryGetValue(id, out var expected), table.TryGetValue(id, out var found));
                    Assert.Same(expected, expected is null ? null : found);
                    break;
            }

            Assert.Equal(model.Count, table.Count);
        }

        Assert.Equal(model.Values.OrderBy(c => c.Id.ToString()), table.Snapshot().OrderBy(c => c.Id.ToString()));
    }

    [Fact]
    public void ABurstGrowsAndShrinksBack_AndEveryCallStaysFindable()
    {
        var table = new PendingTable();
        var calls = Enumerable.Range(0, 100_000).Select(_ => Call(CorrelationId.NewId())).ToArray();
        foreach (var call in calls)
        {
            Assert.True(table.TryAdd(call));
        }

        Assert.False(table.TryAdd(Call(calls[77].Id)));
        for (var i = 0; i < calls.Length; i += 2)
        {
            Assert.True(table.TryRemove(calls[i]));
        }

        for (var i = 0; i < calls.Length; i++)
        {
            Assert.Equal(i % 2 == 1, table.TryGetValue(calls[i].Id, out _));
        }

        for (var i = 1; i < calls.Length; i += 2)
        {
            Assert.True(table.TryRemove(calls[i]));
        }

        Assert.True(table.IsEmpty);
        Assert.Empty(table.Snapshot());
    }

    [Fact]
    public async Task ConcurrentCallers_EachFindTheirOwnCall_AndTheTableEndsEmpty()
    {
        var table = new PendingTable();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var round = 0; round < 20; round++)
            {
                var mine = Enumerable.Range(0, 2_000).Select(_ => Call(CorrelationId.NewId())).ToArray();
                foreach (var call in mine)
                {
                    Assert.True(table.TryAdd(call));
                }

                foreach (var call in mine)
                {
                    Assert.True(table.TryGetValue(call.Id, out var found));
                    Assert.Same(call, found);
                    Assert.True(table.TryRemove(call));
                    Assert.False(table.TryRemove(call));
                }
            }
        })));

        Assert.Equal(0, table.Count);
    }
}
