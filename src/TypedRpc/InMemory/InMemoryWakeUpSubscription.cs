using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace TypedRpc.InMemory;

/// <summary>
/// One subscriber to an instance's wake-ups on an <see cref="InMemoryOwnershipStore"/>: a channel
/// the notifier writes to and a pump that calls the callback, in order and one at a time, on the
/// thread pool.
/// </summary>
internal sealed class InMemoryWakeUpSubscription : IAsyncDisposable, IThreadPoolWorkItem
{
    // Wake-ups are hints (pub/sub loses them too when a subscriber falls behind), so a subscriber
    // whose callback stalls drops the oldest rather than growing without bound.
    private const int Capacity = 10_000;

    private readonly InMemoryOwnershipStore _store;
    private readonly Func<CorrelationId, long, ValueTask> _onWakeUp;
    private readonly Channel<(CorrelationId Id, long Value)> _channel = Channel.CreateBounded<(CorrelationId Id, long Value)>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    // Never disposed: the pump may still be waiting on its token when the subscription stops.
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    public InMemoryWakeUpSubscription(InMemoryOwnershipStore store, Dictionary<string, InMemoryWakeUpSubscription[]> registry, string instanceId, Func<CorrelationId, long, ValueTask> onWakeUp)
    {
        _store = store;
        Registry = registry;
        InstanceId = instanceId;
        _onWakeUp = onWakeUp;
    }

    /// <summary>The instance (wake-ups) or service (cancellations) subscribed to.</summary>
    public string InstanceId { get; }

    /// <summary>The store's table this subscription is listed in (wake-ups or cancellations).</summary>
    public Dictionary<string, InMemoryWakeUpSubscription[]> Registry { get; }

    /// <summary>Queues a wake-up (or a cancellation, with the cancelled request's deadline). Never blocks and never runs the callback on the caller's stack.</summary>
    public void Post(CorrelationId id, long value) => _channel.Writer.TryWrite((id, value));

    /// <summary>Starts the pump on the thread pool, without the subscriber's ExecutionContext.</summary>
    public void Start() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    /// <summary>
    /// Stops callbacks: none starts after this returns. A callback already running is not awaited
    /// (it may be the one disposing the subscription).
    /// </summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _store.RemoveWakeUpSubscription(this);
            _channel.Writer.TryComplete();
            _stopping.Cancel();
        }

        return ValueTask.CompletedTask;
    }

    void IThreadPoolWorkItem.Execute() => _ = PumpAsync();

    // Never faults.
    private async Task PumpAsync()
    {
        var reader = _channel.Reader;
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
                    catch (Exception)
                    {
                        // The contract says the callback must not throw; one that does must not
                        // silence every later wake-up for this subscriber.
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
