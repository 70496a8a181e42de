using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using TypedRpc.Transport;

namespace TypedRpc.Kafka;

/// <summary>What every TypedRpc consumer does the same way: hand a reply record over, commit in order, guard rebalance callbacks.</summary>
internal static class KafkaConsumerSupport
{
    /// <summary>
    /// Decodes a reply record and hands it to the engine; its offset counts as done when the
    /// handler has finished (synchronously in the common case: a waiter took it).
    /// </summary>
    /// <remarks>
    /// A record that does not fit the wire format is copied to the dead-letter topic with its reason
    /// (through <paramref name="deadLetter"/>, which logs and never throws), whoever reads it: an
    /// instance reading a partition it adopted dead-letters the garbage there as its owner would
    /// have. One with a usable id is also handed over as a DataLoss reply, so that its call, if one
    /// waits, fails at once rather than at its deadline. The offset is done only once the dead
    /// letter was produced, so a crash in between leaves the record to be read again, not lost.
    /// </remarks>
    public static void DeliverReply(ConsumeResult<byte[]?, byte[]?> record, int maxBytes, PartitionOffsets offsets, RpcReplyHandler handler, ILogger logger,
        Func<ConsumeResult<byte[]?, byte[]?>, string, Task> deadLetter, CancellationToken cancellationToken)
    {
        var offset = record.Offset.Value;
        offsets.Start(offset);
        var reply = KafkaHeaders.DecodeReply(record, maxBytes, out var reason);
        var deadLettered = reason is null ? null : deadLetter(record, reason);
        if (reply is null)
        {
            _ = CompleteAfterAsync(deadLettered!, default, default, offsets, offset, logger);
            return;
        }

        ValueTask handled;
        try
        {
            handled = handler(reply, cancellationToken);
        }
        catch (Exception ex)
        {
            Log.ReplyHandlerFailed(logger, ex, reply.Id);
            handled = default;
        }

        if (deadLettered is null && handled.IsCompletedSuccessfully)
        {
            offsets.Complete(offset);
        }
        else
        {
            _ = CompleteAfterAsync(deadLettered, handled, reply.Id, offsets, offset, logger);
        }
    }

    /// <summary>Commits, per partition, the position up to which every record is done.</summary>
    public static void CommitCompleted<TKey>(IConsumer<byte[]?, byte[]?> consumer, ConcurrentDictionary<TKey, PartitionOffsets> offsets,
        Func<TKey, TopicPartition> partitionOf, string topic, ILogger logger)
        where TKey : notnull
    {
        List<TopicPartitionOffset>? positions = null;
        foreach (var (key, partitionOffsets) in offsets)
        {
            var position = partitionOffsets.TakeCommitPosition();
            if (position >= 0)
            {
                (positions ??= new List<TopicPartitionOffset>()).Add(new TopicPartitionOffset(partitionOf(key), position));
            }
        }

        if (positions is null)
        {
            return;
        }

        try
        {
            consumer.Commit(positions);
        }
        catch (KafkaException ex) when (ex.Error.Code is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId)
        {
            // Part of every eager rebalance (a commit between the group starting to form and this
            // member hearing of it): expected, so not a warning.
            Log.CommitDuringRebalance(logger, topic, ex.Error.Reason);
        }
        catch (KafkaException ex)
        {
            // A revoked partition or a broker hiccup: the records are committed by whoever reads them next.
            Log.CommitFailed(logger, topic, ex.Error.Reason);
        }
    }

    /// <summary>Runs a rebalance callback, logging what it throws: Confluent.Kafka would rethrow it from the next <c>Consume</c> and end the loop.</summary>
    public static void Guard(Action action, ILogger logger, string topic)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            Log.RebalanceHandlerFailed(logger, ex, topic);
        }
    }

    private static async Task CompleteAfterAsync(Task? deadLettered, ValueTask handled, CorrelationId id, PartitionOffsets offsets, long offset, ILogger logger)
    {
        try
        {
            await handled.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ReplyHandlerFailed(logger, ex, id);
        }

        try
        {
            if (deadLettered is not null)
            {
                await deadLettered.ConfigureAwait(false);
            }
        }
        finally
        {
            offsets.Complete(offset);
        }
    }
}
