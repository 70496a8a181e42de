using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.InMemory;
using TypedRpc.Transport;

namespace TypedRpc.Tests.Support;

/// <summary>
/// The in-memory transport with the start-up steps a broker takes time for held by the test:
/// preparing to send (Kafka: fetching metadata) waits for <see cref="PrepareGate"/>, and with
/// <see cref="HoldAssignments"/> a request subscription is assigned (as a Kafka member is by its
/// group) only when the test completes <see cref="Assignment"/> for its service.
/// </summary>
public sealed class GatedTransport(InMemoryRpcTransport inner) : DelegatingTransport(inner)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _assignments = new();

    /// <summary>What each <see cref="PrepareToSendAsync"/> call was given.</summary>
    public ConcurrentQueue<IReadOnlyList<RpcServiceDescriptor>> Prepared { get; } = new();

    /// <summary>What each <see cref="PrepareToReplyAsync"/> call was given, and how many request subscriptions existed by then.</summary>
    public ConcurrentQueue<(IReadOnlyList<RpcServiceDescriptor> Services, int SubscriptionsBefore)> PreparedToReply { get; } = new();

    private int _subscriptions;

    /// <summary>Completed by the test to let preparations finish; completed from the start unless replaced.</summary>
    public Task PrepareGate { get; set; } = Task.CompletedTask;

    /// <summary>Whether new request subscriptions wait for <see cref="Assignment"/> to be assigned.</summary>
    public bool HoldAssignments { get; set; }

    /// <summary>The gate a held subscription of <paramref name="service"/> is assigned by.</summary>
    public TaskCompletionSource Assignment(string service) =>
        _assignments.GetOrAdd(service, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public override async ValueTask<IAsyncDisposable> SubscribeRequestsAsync(RpcServiceDescriptor service, RpcRequestHandler handler, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _subscriptions);
        var subscription = await base.SubscribeRequestsAsync(service, handler, cancellationToken);
        return HoldAssignments ? new HeldSubscription(subscription, Assignment(service.ServiceName).Task) : subscription;
    }

    public override async ValueTask PrepareToSendAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken)
    {
        Prepared.Enqueue(services);
        await PrepareGate.WaitAsync(cancellationToken);
    }

    public override ValueTask PrepareToReplyAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken)
    {
        PreparedToReply.Enqueue((services, Volatile.Read(ref _subscriptions)));
        return ValueTask.CompletedTask;
    }

    private sealed class HeldSubscription(IAsyncDisposable inner, Task assigned) : IRpcRequestSubscription
    {
        public Task Assigned => assigned;

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
