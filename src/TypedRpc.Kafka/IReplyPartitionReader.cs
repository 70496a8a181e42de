namespace TypedRpc.Kafka;

/// <summary>The Kafka side of leased reply partitions: what <see cref="ReplyPartitionLeaser"/> asks the reading consumer to do.</summary>
internal interface IReplyPartitionReader
{
    /// <summary>Starts reading a partition as its reader: from its committed position (taken over), else from its current end.</summary>
    /// <param name="partition">The partition.</param>
    void Read(int partition);

    /// <summary>Starts reading a partition another instance left unread, from <paramref name="position"/>.</summary>
    /// <param name="partition">The partition.</param>
    /// <param name="position">Where its unread records start.</param>
    void Adopt(int partition, long position);

    /// <summary>Commits what is done on a partition and stops reading it.</summary>
    /// <param name="partition">The partition.</param>
    void Stop(int partition);

    /// <summary>Whether a partition has records nobody has committed: its committed position (else its start) is behind its end.</summary>
    /// <param name="partition">The partition.</param>
    /// <param name="position">The first unread record.</param>
    /// <param name="end">The partition's end.</param>
    /// <returns><see langword="true"/> when <paramref name="position"/> is behind <paramref name="end"/>.</returns>
    bool HasUnread(int partition, out long position, out long end);

    /// <summary>The records of a partition still being handled.</summary>
    /// <param name="partition">The partition.</param>
    /// <returns>How many.</returns>
    int InFlight(int partition);
}
