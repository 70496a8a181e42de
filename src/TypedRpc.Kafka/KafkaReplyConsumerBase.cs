using System;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using TypedRpc.Transport;

namespace TypedRpc.Kafka;

/// <summary>
/// What the three reply routings share: the reply topic, read on the consumer loop, each record
/// decoded and handed to the engine; a record that does not fit the wire format is dead-lettered.
/// </summary>
internal abstract class KafkaReplyConsumerBase : KafkaConsumerLoop, IRpcReplySubscription
{
    private readonly RpcReplyHandler _handler;
    private readonly Func<ConsumeResult<byte[]?, byte[]?>, string, Task> _deadLetter;

    /// <param name="options">The transport's settings.</param>
    /// <param name="config">The consumer's configuration.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="threadName">The loop thread's name.</param>
    /// <param name="joinsGroup">Whether the consumer subscribes to a group rather than assigning partitions by hand.</param>
    /// <param name="handler">The engine's reply handler.</param>
    /// <param name="deadLetter">Copies a record to the dead-letter topic with a reason; logs and never throws.</param>
    protected KafkaReplyConsumerBase(KafkaTransportOptions options, ConsumerConfig config, ILogger logger, string threadName, bool joinsGroup,
        RpcReplyHandler handler, Func<ConsumeResult<byte[]?, byte[]?>, string, Task> deadLetter)
        : base(options, config, options.EffectiveReplyTopic, logger, threadName, pollMilliseconds: 50, commitIntervalMilliseconds: 500, joinsGroup)
    {
        _handler = handler;
        _deadLetter = deadLetter;
    }

    /// <inheritdoc />
    public abstract RpcReplyAddress Address { get; }

    /// <inheritdoc />
    public virtual bool ReceivesEveryReply => false;

    /// <summary>Chooses what to read, starts the loop, and returns once the address can be put in requests.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when started.</returns>
    public abstract Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Decodes a reply record and hands it to the engine; its offset counts as done when the
    /// handler has finished (synchronously in the common case: a waiter took it).
    /// </summary>
    /// <remarks>
    /// A record that does not fit the wire format is copied to the dead-letter topic with its reason,
    /// whoever reads it: an instance reading a partition it adopted dead-letters the garbage there as
    /// its owner would have. One with a usable id is also handed over as a DataLoss reply, so that its
    /// call, if one waits, fails at once rather than at its deadline. The offset is done only once the
    /// dead letter was produced, so a crash in between leaves the record to be read again, not lost.
    /// </remarks>
    /// <param name="record">The record.</param>
    protected override void Deliver(ConsumeResult<byte[]?, byte[]?> record)
    {
        var offsets = Offsets.For(record.Partition.Value);
        var offset = record.Offset.Value;
        offsets.Start(offset);
        var reply = KafkaHeaders.DecodeReply(record, Options.MaxMessageBytes, out var reason);
        var deadLettered = reason is null ? null : _deadLetter(record, reason);
        if (reply is null)
        {
            _ = CompleteAfterAsync(deadLettered!, default, default, offsets, offset);
            return;
        }

        ValueTask handled;
        try
        {
            handled = _handler(reply, Stopping);
        }
        catch (Exception ex)
        {
            Log.ReplyHandlerFailed(Logger, ex, reply.Id);
            handled = default;
        }

        if (deadLettered is null && handled.IsCompletedSuccessfully)
        {
            offsets.Complete(offset);
        }
        else
        {
            _ = CompleteAfterAsync(deadLettered, handled, reply.Id, offsets, offset);
        }
    }

    private async Task CompleteAfterAsync(Task? deadLettered, ValueTask handled, CorrelationId id, PartitionOffsets offsets, long offset)
    {
        try
        {
            await handled.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ReplyHandlerFailed(Logger, ex, id);
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
