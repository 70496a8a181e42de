using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.InMemory;

// Wake-ups and cancellation signals: subscribers per name, as copy-on-write arrays under their own lock.
public sealed partial class InMemoryOwnershipStore
{
    /// <inheritdoc />
    /// <remarks>Queues the wake-up for each current subscriber of the instance and returns; callbacks run later, on the thread pool.</remarks>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is null or empty, or <paramref name="id"/> is empty.</exception>
    public ValueTask NotifyAsync(string instanceId, CorrelationId id, CancellationToken cancellationToken)
    {
        StoreArguments.Notify(instanceId, id);
        return NotifyCoreAsync(instanceId, id, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// An instance may have several subscriptions; each gets every wake-up. Callbacks run on the
    /// thread pool, in order and one at a time per subscription, never on the notifier's stack nor
    /// with its <see cref="System.Threading.ExecutionContext"/>; one that throws is ignored. Disposing
    /// a subscription stops its callbacks (none starts afterwards; one already running is not awaited).
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="onWakeUp"/> is null.</exception>
    public ValueTask<IAsyncDisposable> SubscribeWakeUpsAsync(string instanceId, Func<CorrelationId, ValueTask> onWakeUp, CancellationToken cancellationToken)
    {
        StoreArguments.Subscribe(instanceId, onWakeUp, nameof(instanceId), nameof(onWakeUp));
        return SubscribeCoreAsync(_wakeUps, instanceId, (id, _) => onWakeUp(id), cancellationToken);
    }

    /// <summary>The live wake-up subscriptions of an instance (for tests that disposal leaves nothing behind).</summary>
    internal int WakeUpSubscriptionCount(string instanceId)
    {
        lock (_wakeUpLock)
        {
            return _wakeUps.TryGetValue(instanceId, out var subscriptions) ? subscriptions.Length : 0;
        }
    }

    internal void RemoveWakeUpSubscription(InMemoryWakeUpSubscription subscription)
    {
        var registry = subscription.Registry;
        lock (_wakeUpLock)
        {
            if (!registry.TryGetValue(subscription.InstanceId, out var current))
            {
                return;
            }

            var index = Array.IndexOf(current, subscription);
            if (index < 0)
            {
                return;
            }

            if (current.Length == 1)
            {
                registry.Remove(subscription.InstanceId);
                return;
            }

            var next = new InMemoryWakeUpSubscription[current.Length - 1];
            Array.Copy(current, 0, next, 0, index);
            Array.Copy(current, index + 1, next, index, current.Length - index - 1);
            registry[subscription.InstanceId] = next;
        }
    }

    private async ValueTask NotifyCoreAsync(string instanceId, CorrelationId id, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        PostWakeUp(instanceId, id);
    }

    private async ValueTask<IAsyncDisposable> SubscribeCoreAsync(Dictionary<string, InMemoryWakeUpSubscription[]> registry, string name, Func<CorrelationId, long, ValueTask> callback, CancellationToken cancellationToken)
    {
        await BeginAsync(cancellationToken).ConfigureAwait(false);
        var subscription = new InMemoryWakeUpSubscription(this, registry, name, callback);
        lock (_wakeUpLock)
        {
            if (registry.TryGetValue(name, out var current))
            {
                var next = new InMemoryWakeUpSubscription[current.Length + 1];
                current.CopyTo(next, 0);
                next[current.Length] = subscription;
                registry[name] = next;
            }
            else
            {
                registry[name] = [subscription];
            }
        }

        subscription.Start();
        return subscription;
    }

    private void PostWakeUp(string instanceId, CorrelationId id) => Post(_wakeUps, instanceId, id, 0);

    private void Post(Dictionary<string, InMemoryWakeUpSubscription[]> registry, string name, CorrelationId id, long value)
    {
        lock (_wakeUpLock)
        {
            if (registry.TryGetValue(name, out var subscriptions))
            {
                foreach (var subscription in subscriptions)
                {
                    subscription.Post(id, value);
                }
            }
        }
    }
}
