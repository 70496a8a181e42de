using System;
using System.Threading.Tasks;

namespace TypedRpc.Transport;

/// <summary>
/// A request subscription that says when its member has joined the service's server group — for
/// Kafka, when the consumer group first assigned it partitions. Until then, requests sent to the
/// service wait for the group to form. <see cref="IRpcTransport.SubscribeRequestsAsync"/> may
/// return one; a subscription that is not one counts as assigned as soon as it is made.
/// </summary>
public interface IRpcRequestSubscription : IAsyncDisposable
{
    /// <summary>
    /// Completes at the member's first assignment — possibly of no partition at all, when the group
    /// has more members than the topic has partitions: the group has formed either way. Cancelled
    /// if the subscription ends first. Later rebalances do not reset it.
    /// </summary>
    Task Assigned { get; }
}
