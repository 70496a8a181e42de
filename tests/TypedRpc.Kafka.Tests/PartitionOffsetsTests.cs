using System;
using System.Linq;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.Kafka.Tests;

/// <summary>In-order commits over records handled concurrently: the position never passes a record still being handled.</summary>
public sealed class PartitionOffsetsTests
{
    [Fact]
    public void NothingSeen_NothingToCommit()
    {
        var offsets = new PartitionOffsets();

        Assert.Equal(-1, offsets.TakeCommitPosition());
        Assert.Equal(0, offsets.InFlight);
    }

    [Fact]
    public void ARecordBeingHandled_HoldsThePositionAtItself_UntilItCompletes()
    {
        var offsets = new PartitionOffsets();
        offsets.Start(5);

        Assert.Equal(5, offsets.TakeCommitPosition());
        Assert.Equal(1, offsets.InFlight);

        offsets.Complete(5);

        Assert.Equal(6, offsets.TakeCommitPosition());
        Assert.Equal(0, offsets.InFlight);
    }

    [Fact]
    public void APositionIsTakenOnce_ThenOnlyWhenItMoves()
    {
        var offsets = new PartitionOffsets();
        offsets.Start(0);
        offsets.Complete(0);

        Assert.Equal(1, offsets.TakeCommitPosition());
        Assert.Equal(-1, offsets.TakeCommitPosition());

        offsets.Start(1);
        Assert.Equal(-1, offsets.TakeCommitPosition());

        offsets.Complete(1);
        Assert.Equal(2, offsets.TakeCommitPosition());
    }

    [Fact]
    public void OutOfOrderCompletions_CommitOnlyUpToTheLowestStillBeingHandled()
    {
        var offsets = new PartitionOffsets();
        for (var offset = 10; offset <= 14; offset++)
        {
            offsets.Start(offset);
        }

        offsets.Complete(14);
        offsets.Complete(12);
        offsets.Complete(11);
        Assert.Equal(10, offsets.TakeCommitPosition());
        Assert.Equal(2, offsets.InFlight);

        offsets.Complete(10);
        Assert.Equal(13, offsets.TakeCommitPosition());

        offsets.Complete(13);
        Assert.Equal(15, offsets.TakeCommitPosition());
        Assert.Equal(0, offsets.InFlight);
    }

    [Fact]
    public void GapsInTheOffsets_AreSkipped()
    {
        // Offsets a consumer never sees (compacted records, transaction markers) hold nothing back.
        var offsets = new PartitionOffsets();
        offsets.Start(3);
        offsets.Start(7);
        offsets.Start(20);

        offsets.Complete(3);
        Assert.Equal(7, offsets.TakeCommitPosition());

        offsets.Complete(20);
        offsets.Complete(7);
        Assert.Equal(21, offsets.TakeCommitPosition());
    }

    [Fact]
    public void ThePositionNeverMovesBack_WhenAnEarlierRecordIsSeenAgain()
    {
        var offsets = new PartitionOffsets();
        offsets.Start(10);
        offsets.Complete(10);
        Assert.Equal(11, offsets.TakeCommitPosition());

        // Redelivered after a seek: handled again, but the committed position stays where it was.
        offsets.Start(4);
        Assert.Equal(-1, offsets.TakeCommitPosition());
        Assert.Equal(1, offsets.InFlight);

        offsets.Complete(4);
        Assert.Equal(-1, offsets.TakeCommitPosition());

        offsets.Start(11);
        offsets.Complete(11);
        Assert.Equal(12, offsets.TakeCommitPosition());
    }

    [Fact]
    public void CompletingARecordNeverStarted_ChangesNothing()
    {
        var offsets = new PartitionOffsets();
        offsets.Start(1);

        offsets.Complete(0);
        offsets.Complete(2);

        Assert.Equal(1, offsets.InFlight);
        Assert.Equal(1, offsets.TakeCommitPosition());
    }

    [Fact]
    public async Task ConcurrentCompletionsInAnyOrder_EndAtOnePastTheLast()
    {
        const int Count = 10_000;
        var offsets = new PartitionOffsets();
        for (var offset = 0; offset < Count; offset++)
        {
            offsets.Start(offset);
        }

        var order = Enumerable.Range(0, Count).ToArray();
        new Random(19).Shuffle(order);
        var positions = new long[4];
        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            for (var i = worker; i < Count; i += 4)
            {
                offsets.Complete(order[i]);
                var position = offsets.TakeCommitPosition();
                if (position >= 0)
                {
                    // Whatever a worker takes is at most one past every record completed so far.
                    Assert.InRange(position, 0, Count);
                    positions[worker] = Math.Max(positions[worker], position);
                }
            }
        })));

        Assert.Equal(0, offsets.InFlight);
        var last = offsets.TakeCommitPosition();
        Assert.Equal(Count, Math.Max(last, positions.Max()));
    }
}
