using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.Tests.Support;

/// <summary>
/// A store (owners, replies and claims) that hands everything to <paramref name="inner"/>: a test
/// overrides only what it watches or breaks, and <see cref="Use"/>s it in place of the cluster's store.
/// </summary>
/// <param name="inner">The store underneath (usually the cluster's in-memory one).</param>
public abstract class DelegatingStore(InMemoryOwnershipStore inner) : IRpcOwnershipStore, IRpcClaimStore
{
    /// <summary>Registers this store as an instance's ownership and claim store.</summary>
    public void Use(IServiceCollection services)
    {
        services.RemoveAll<IRpcOwnershipStore>();
        services.RemoveAll<IRpcClaimStore>();
        services.AddSingleton<IRpcOwnershipStore>(this);
        services.AddSingleton<IRpcClaimStore>(this);
    }

    public virtual bool RecordsOwners => inner.RecordsOwners;

    public virtual ValueTask RegisterOwnerAsync(CorrelationId id, RpcOwner owner, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.RegisterOwnerAsync(id, owner, timeToLive, cancellationToken);

    public virtual ValueTask<RpcOwner?> GetOwnerAsync(CorrelationId id, CancellationToken cancellationToken) => inner.GetOwnerAsync(id, cancellationToken);

    public virtual ValueTask ReleaseOwnerAsync(CorrelationId id, string instanceId, CancellationToken cancellationToken) => inner.ReleaseOwnerAsync(id, instanceId, cancellationToken);

    public virtual ValueTask StoreReplyAsync(RpcReply reply, TimeSpan timeToLive, string? notifyInstance, CancellationToken cancellationToken) => inner.StoreReplyAsync(reply, timeToLive, notifyInstance, cancellationToken);

    public virtual ValueTask<IReadOnlyList<RpcReply>> GetRepliesAsync(CorrelationId id, CancellationToken cancellationToken) => inner.GetRepliesAsync(id, cancellationToken);

    public virtual ValueTask NotifyAsync(string instanceId, CorrelationId id, CancellationToken cancellationToken) => inner.NotifyAsync(instanceId, id, cancellationToken);

    public virtual ValueTask<IAsyncDisposable> SubscribeWakeUpsAsync(string instanceId, Func<CorrelationId, ValueTask> onWakeUp, CancellationToken cancellationToken) => inner.SubscribeWakeUpsAsync(instanceId, onWakeUp, cancellationToken);

    public virtual ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.TryClaimAsync(id, holder, timeToLive, cancellationToken);

    public virtual ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, RpcClaimConditions conditions, CancellationToken cancellationToken) => inner.TryClaimAsync(id, holder, timeToLive, conditions, cancellationToken);

    public virtual ValueTask<bool> RenewClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.RenewClaimAsync(id, holder, timeToLive, cancellationToken);

    public virtual ValueTask<bool> CompleteClaimAsync(CorrelationId id, string holder, IReadOnlyList<RpcReply> replies, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.CompleteClaimAsync(id, holder, replies, timeToLive, cancellationToken);

    public virtual ValueTask ReleaseClaimAsync(CorrelationId id, string holder, CancellationToken cancellationToken) => inner.ReleaseClaimAsync(id, holder, cancellationToken);

    public virtual ValueTask<bool?> IsRunningAsync(CorrelationId id, CancellationToken cancellationToken) => inner.IsRunningAsync(id, cancellationToken);

    public virtual ValueTask<IReadOnlyList<RpcReply>?> GetCompletedRepliesAsync(CorrelationId id, CancellationToken cancellationToken) => inner.GetCompletedRepliesAsync(id, cancellationToken);

    public virtual ValueTask<bool> CancelAsync(string service, CorrelationId id, long requestDeadlineUnixMs, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.CancelAsync(service, id, requestDeadlineUnixMs, timeToLive, cancellationToken);

    public virtual ValueTask<IAsyncDisposable> SubscribeCancellationsAsync(string service, Func<CorrelationId, long, ValueTask> onCancel, CancellationToken cancellationToken) => inner.SubscribeCancellationsAsync(service, onCancel, cancellationToken);
}
