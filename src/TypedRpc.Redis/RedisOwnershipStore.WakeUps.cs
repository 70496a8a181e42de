using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;
using TypedRpc.Ownership;

namespace TypedRpc.Redis;

// Wake-ups: Redis pub/sub on one channel per instance, carrying the call's 32-hex-digit id.
public sealed partial class RedisOwnershipStore
{
    /// <inheritdoc />
    /// <remarks>A <c>PUBLISH</c> of the id's 32 hex digits on the instance's channel. Pub/sub keeps nothing: an instance not subscribed at that moment never sees it.</remarks>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is null or empty, or <paramref name="id"/> is empty.</exception>
    public ValueTask NotifyAsync(string instanceId, CorrelationId id, CancellationToken cancellationToken)
    {
        StoreArguments.Notify(instanceId, id);
        var state = (Channel: WakeChannel(instanceId), Message: (RedisValue)id.ToString());
        return IgnoreResult(RunAsync("Notify", state, static (c, s) => c.Subscriber.PublishAsync(s.Channel, s.Message), cancellationToken));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Callbacks run on the thread pool, one at a time per subscription, never on a Redis thread; one
    /// that throws is ignored (and logged). A subscription queues at most
    /// <see cref="RedisOwnershipStoreOptions.WakeUpQueueCapacity"/> wake-ups while its callback is
    /// busy, dropping the oldest beyond that. Each of an instance's subscriptions gets every wake-up;
    /// disposing one stops its callbacks (none starts afterwards; one running is not awaited) and
    /// unsubscribes. Subscribing fails while Redis is unreachable, so the caller knows it is not
    /// subscribed yet; a subscription survives a lost connection (StackExchange.Redis subscribes again
    /// on reconnecting), but wake-ups published meanwhile are lost: waiters cover them by reading the
    /// stored replies when their deadline comes.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="onWakeUp"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Redis is not connected, so the channel could not be subscribed.</exception>
    public ValueTask<IAsyncDisposable> SubscribeWakeUpsAsync(string instanceId, Func<CorrelationId, ValueTask> onWakeUp, CancellationToken cancellationToken)
    {
        StoreArguments.Subscribe(instanceId, onWakeUp, nameof(instanceId), nameof(onWakeUp));
        return SubscribeCoreAsync("SubscribeWakeUps", WakeChannel(instanceId), instanceId, (id, _) => onWakeUp(id), cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A subscription to the service's channel <c>ns:cancel:service</c>, kept like a wake-up
    /// subscription (callbacks on the thread pool, one at a time; resubscribed after a reconnect).
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="service"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="onCancel"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Redis is not connected, so the channel could not be subscribed.</exception>
    public ValueTask<IAsyncDisposable> SubscribeCancellationsAsync(string service, Func<CorrelationId, long, ValueTask> onCancel, CancellationToken cancellationToken)
    {
        StoreArguments.Subscribe(service, onCancel, nameof(service), nameof(onCancel));
        var channel = RedisChannel.Literal(_keys.CancelChannel(service));
        return SubscribeCoreAsync("SubscribeCancellations", channel, service, onCancel, cancellationToken);
    }

    /// <summary>An instance's wake-up channel, literal so that no character of an instance id is read as a pattern.</summary>
    internal RedisChannel WakeChannel(string instanceId) => RedisChannel.Literal(_keys.WakeChannel(instanceId));

    /// <summary>Unsubscribes one handler, bounded like every command; never throws (the handler is removed locally before anything is sent).</summary>
    internal async ValueTask UnsubscribeAsync(RedisConnection connection, RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        try
        {
            // May throw at once (a closed multiplexer).
            await connection.Subscriber.UnsubscribeAsync(channel, handler).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // StackExchange.Redis dropped the handler from its table before sending UNSUBSCRIBE, so
            // no callback follows and a reconnect does not subscribe it again.
            RedisLog.UnsubscribeFailed(_logger, ex, (string?)channel ?? string.Empty);
        }
    }

    private async ValueTask<IAsyncDisposable> SubscribeCoreAsync(string operation, RedisChannel channel, string instanceId, Func<CorrelationId, long, ValueTask> onWakeUp, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var started = Stopwatch.GetTimestamp();

        // Connected first because the subscription is made (and, on failure, unsubscribed) on
        // this connection; the retries below get what is left of the same time budget.
        var connection = _connection ?? await ConnectAsync(operation, cancellationToken).ConfigureAwait(false);
        var subscription = new RedisWakeUpSubscription(this, connection, channel, instanceId, onWakeUp, _wakeUpQueueCapacity, _logger);
        try
        {
            // Right after connecting, the pub/sub connection may still be coming up (seen under load
            // on 2 cores): SubscribeAsync may then "succeed" without a connected endpoint (2.x) or
            // refuse with RedisConnectionException although the server answers (3.x). Retry within
            // the operation's time budget until the subscription is really on one; a server that
            // does not answer at all fails at once.
            while (true)
            {
                try
                {
                    await RunAsync(
                        operation,
                        subscription,
                        static async (c, s) =>
                        {
                            await c.Subscriber.SubscribeAsync(s.Channel, s.Handler).ConfigureAwait(false);
                            return true;
                        },
                        cancellationToken).ConfigureAwait(false);

                    if (connection.Subscriber.SubscribedEndpoint(subscription.Channel) is not null)
                    {
                        break;
                    }
                }
                catch (RedisConnectionException) when (connection.Multiplexer.IsConnected && Stopwatch.GetElapsedTime(started) < _timeout)
                {
                    // Connected, but not for pub/sub yet: tried again below.
                }

                if (Stopwatch.GetElapsedTime(started) >= _timeout)
                {
                    throw new InvalidOperationException(
                        $"Could not subscribe to the channel '{(string?)channel}': Redis is not connected.");
                }

                // Take the handler back off before subscribing again, so it is never registered twice.
                try
                {
                    await connection.Subscriber.UnsubscribeAsync(subscription.Channel, subscription.Handler).WaitAsync(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is TimeoutException or StackExchange.Redis.RedisException)
                {
                    // Not connected either way; the next subscribe replaces nothing.
                }

                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        subscription.Start();
        return subscription;
    }
}
