using Confluent.Kafka;
using Xunit;

namespace TypedRpc.Kafka.Tests;

/// <summary>The per-partition trackers of one consumer: assignment, revocation and what is committed.</summary>
public sealed class PartitionOffsetTableTests
{
    [Fact]
    public void NothingTracked_NothingToCommit()
    {
        var table = new PartitionOffsetTable();

        Assert.Null(table.TakeCommitPositions("t"));
        Assert.Equal(-1, table.TakeCommitPosition(0));
        Assert.Equal(0, table.InFlight(0));
        Assert.Equal(-1, table.LowestPartition());
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void PositionsAreTakenPerPartition_OnlyForPartitionsThatMoved()
    {
        var table = new PartitionOffsetTable();
        table.Track(0);
        table.Track(1);
        table.Track(2);
        table.For(0).Start(40);
        table.For(0).Complete(40);
        table.For(2).Start(7);

        var positions = table.TakeCommitPositions("replies");

        Assert.NotNull(positions);
        positions.Sort((a, b) => a.Partition.Value.CompareTo(b.Partition.Value));
        Assert.Equal(new[] { new TopicPartitionOffset("replies", 0, 41), new TopicPartitionOffset("replies", 2, 7) }, positions);
        Assert.Null(table.TakeCommitPositions("replies"));
    }

    [Fact]
    public void ARecordFromAnUntrackedPartition_StartsItsTracker()
    {
        var table = new PartitionOffsetTable();

        table.For(3).Start(9);

        Assert.Same(table.For(3), table.For(3));
        Assert.Equal(1, table.InFlight(3));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void ARevokedPartition_IsNotCommittedAgain_ThoughItsRecordsStillComplete()
    {
        var table = new PartitionOffsetTable();
        table.Track(0);
        var revoked = table.For(0);
        revoked.Start(5);

        table.Forget(0);
        revoked.Complete(5);

        Assert.Null(table.TakeCommitPositions("t"));
        Assert.Equal(-1, table.TakeCommitPosition(0));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void APartitionAssignedAgain_StartsAfresh()
    {
        var table = new PartitionOffsetTable();
        table.Track(0);
        table.For(0).Start(100);
        table.For(0).Complete(100);
        Assert.Equal(101, table.TakeCommitPosition(0));

        // Revoked, then assigned back: positions are those of the new assignment, from its first record.
        table.Forget(0);
        table.Track(0);
        Assert.Equal(-1, table.TakeCommitPosition(0));

        table.For(0).Start(60);
        Assert.Equal(60, table.TakeCommitPosition(0));
    }

    [Fact]
    public void TrackingAnAssignedPartitionAgain_DropsWhatItsOldTrackerHeld()
    {
        var table = new PartitionOffsetTable();
        table.Track(1);
        table.For(1).Start(5);

        table.Track(1);

        Assert.Equal(0, table.InFlight(1));
        Assert.Equal(-1, table.TakeCommitPosition(1));
    }

    [Fact]
    public void LowestPartition_IsTheLowestTracked()
    {
        var table = new PartitionOffsetTable();
        table.Track(7);
        table.Track(3);
        table.Track(12);
        Assert.Equal(3, table.LowestPartition());

        table.Forget(3);
        Assert.Equal(7, table.LowestPartition());
    }
}
