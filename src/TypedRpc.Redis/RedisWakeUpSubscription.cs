using System;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace TypedRpc.Redis;

/// <summary>
/// One subscriber to an instance's wake-up channel: the handler StackExchange.Redis calls only
/// parses the id and queues it, and a pump on the thread pool calls the user's callback, in order
/// and one at a time, so a slow or throwing callback never holds up Redis's own threads.
/// </summary>
internal sealed class RedisWakeUpSubscription : IAsyncDisposable, IThreadPoolWorkItem
{
    private readonly RedisOwnershipStore _store;
    private readonly RedisConnection _connection;
    private readonly string _instanceId;
    private readonly Func<CorrelationId, long, ValueTask> _onWakeUp;
    private readonly ILogger _logger;
    private readonly Channel<(CorrelationId Id, long Value)> _queue;

    // Never disposed: the pump may still be waiting on its token when the subscription stops.
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    public RedisWakeUpSubscription(
        RedisOwnershipStore store, RedisConnection connection, RedisChannel channel, string instanceId,
        Func<CorrelationId, long, ValueTask> onWakeUp, int capacity, ILogger logger)
    {
        _store = store;
        _connection = connection;
        Channel = channel;
        _instanceId = instanceId;
        _onWakeUp = onWakeUp;
        _logger = logger;

        // Wake-ups are hints, so a subscriber whose callback stalls drops the oldest rather than
        // growing without bound. StackExchange.Redis runs handlers concurrently (each message is its
        // own thread-pool item): several writers.
        _queue = System.Threading.Channels.Channel.CreateBounded<(CorrelationId Id, long Value)>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        // One delegate for the subscription's life: StackExchange.Redis removes a handler by identity.
        Handler = OnMessage;
    }

    public RedisChannel Channel { get; }

    public Action<RedisChannel, RedisValue> Handler { get; }

    /// <summary>Starts the pump on the thread pool, without the subscriber's ExecutionContext.</summary>
    public void Start() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    /// <summary>
    /// Stops callbacks (none starts after this returns; one already running is not awaited, as it
    /// may be the one disposing) and unsubscribes, within the operation timeout. Never throws.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        _stopping.Cancel();
        await _store.UnsubscribeAsync(_connection, Channel, Handler).ConfigureAwait(false);
    }

    void IThreadPoolWorkItem.Execute() => _ = PumpAsync();

    // Runs on whatever thread StackExchange.Redis delivers on: parse, queue, return.
    private void OnMessage(RedisChannel channel, RedisValue message)
    {
        if (TryParse((string?)message, out var id, out var value))
        {
            _queue.Writer.TryWrite((id, value));
        }
        else
        {
            RedisLog.MalformedWakeUp(_logger, (string?)channel ?? string.Empty);
        }
    }

    // A wake-up is the id's 32 hex digits; a cancellation adds ':' and the cancelled request's deadline.
    private static bool TryParse(string? message, out CorrelationId id, out long value)
    {
        value = 0;
        if (message is null)
        {
            id = default;
            return false;
        }

        var separator = message.IndexOf(':', StringComparison.Ordinal);
        if (separator < 0)
        {
            return CorrelationId.TryParse(message, out id);
        }

        return CorrelationId.TryParse(message.AsSpan(0, separator), out id)
            && long.TryParse(message.AsSpan(separator + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value)
            && value > 0;
    }

    // Never faults.
    private async Task PumpAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                while (!_stopping.IsCancellationRequested && reader.TryRead(out var item))
                {
                    try
                    {
                        await _onWakeUp(item.Id, item.Value).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        // The contract says the callback must not throw; one that does must not
                        // silence every later wake-up for this instance.
                        RedisLog.WakeUpCallbackFailed(_logger, ex, _instanceId);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed while waiting.
        }
    }
}
