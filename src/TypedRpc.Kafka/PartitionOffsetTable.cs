using System.Collections.Concurrent;
using System.Collections.Generic;
using Confluent.Kafka;

namespace TypedRpc.Kafka;

/// <summary>
/// The <see cref="PartitionOffsets"/> of every partition one consumer reads from one topic. A
/// partition assigned again starts a fresh tracker; one revoked is forgotten, so completions of its
/// records still in flight no longer lead to a commit by this consumer.
/// </summary>
internal sealed class PartitionOffsetTable
{
    private static readonly System.Func<int, PartitionOffsets> s_create = static _ => new PartitionOffsets();
    private readonly ConcurrentDictionary<int, PartitionOffsets> _partitions = new();

    /// <summary>The partitions tracked now.</summary>
    public int Count => _partitions.Count;

    /// <summary>Starts tracking a partition afresh (it was assigned).</summary>
    public void Track(int partition) => _partitions[partition] = new PartitionOffsets();

    /// <summary>Stops tracking a partition (it was revoked, lost or let go).</summary>
    public void Forget(int partition) => _partitions.TryRemove(partition, out _);

    /// <summary>The tracker of a partition a record came from, made if the partition is not tracked yet.</summary>
    public PartitionOffsets For(int partition) => _partitions.GetOrAdd(partition, s_create);

    /// <summary>The records of a partition still being handled; 0 when it is not tracked.</summary>
    public int InFlight(int partition) => _partitions.TryGetValue(partition, out var offsets) ? offsets.InFlight : 0;

    /// <summary>The lowest partition tracked, or -1 when there is none.</summary>
    public int LowestPartition()
    {
        var lowest = -1;
        foreach (var partition in _partitions.Keys)
        {
            if (lowest < 0 || partition < lowest)
            {
                lowest = partition;
            }
        }

        return lowest;
    }

    /// <summary>The position to commit for one partition if it moved since it was last taken; otherwise -1.</summary>
    public long TakeCommitPosition(int partition) =>
        _partitions.TryGetValue(partition, out var offsets) ? offsets.TakeCommitPosition() : -1;

    /// <summary>The positions to commit, for every partition whose position moved; <see langword="null"/> when none did.</summary>
    public List<TopicPartitionOffset>? TakeCommitPositions(string topic)
    {
        List<TopicPartitionOffset>? positions = null;
        foreach (var (partition, offsets) in _partitions)
        {
            var position = offsets.TakeCommitPosition();
            if (position >= 0)
            {
                (positions ??= new List<TopicPartitionOffset>()).Add(new TopicPartitionOffset(topic, partition, position));
            }
        }

        return positions;
    }
}
