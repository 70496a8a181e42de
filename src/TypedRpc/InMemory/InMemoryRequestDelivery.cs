using System;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.InMemory;

/// <summary>One hand-over of a request to one subscription, run on the thread pool.</summary>
internal sealed class InMemoryRequestDelivery : IThreadPoolWorkItem
{
    private readonly InMemoryRequestGroup _group;
    private readonly bool _isRedelivery;

    public InMemoryRequestDelivery(InMemoryRequestGroup group, InMemoryRequestSubscription subscription, InMemoryRequestEnvelope envelope, bool isRedelivery)
    {
        _group = group;
        Subscription = subscription;
        Envelope = envelope;
        _isRedelivery = isRedelivery;
    }

    public InMemoryRequestSubscription Subscription { get; }

    public InMemoryRequestEnvelope Envelope { get; }

    void IThreadPoolWorkItem.Execute() => _ = RunAsync();

    // Never faults: the handler's exception is the delivery's outcome, not the task's.
    private async Task RunAsync()
    {
        // The subscription may have left between dispatch and now and already handed the request
        // on; running it here as well would be a duplicate nobody asked for.
        if (!_group.IsInFlight(this))
        {
            return;
        }

        _group.Transport.OnDelivering(_isRedelivery);
        Exception? error = null;
        try
        {
            await Subscription.Handler(Envelope.Request, Subscription.Stopping).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        _group.Complete(this, error);
    }
}
