using System;
using System.Collections.Generic;
using TypedRpc.Transport;

namespace TypedRpc.Ownership;

/// <summary>
/// The argument checks of the store operations, one per operation, so that every store refuses the
/// same arguments with the same exception and parameter name before it does anything. Compiled
/// into each assembly that implements a store (it is linked into TypedRpc.Redis).
/// </summary>
internal static class StoreArguments
{
    public static void Id(CorrelationId id, string parameterName = "id")
    {
        if (id.IsEmpty)
        {
            throw new ArgumentException("The correlation id is empty.", parameterName);
        }
    }

    public static void TimeToLive(TimeSpan timeToLive, string parameterName = "timeToLive") =>
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero, parameterName);

    public static void RegisterOwner(CorrelationId id, RpcOwner owner, TimeSpan timeToLive)
    {
        Id(id);
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentException.ThrowIfNullOrEmpty(owner.InstanceId, nameof(owner));
        TimeToLive(timeToLive);
    }

    /// <summary>An id and the instance, holder or service it goes with.</summary>
    public static void IdAndName(CorrelationId id, string name, string nameParameter)
    {
        Id(id);
        ArgumentException.ThrowIfNullOrEmpty(name, nameParameter);
    }

    public static void StoreReply(RpcReply reply, TimeSpan timeToLive, string? notifyInstance)
    {
        ArgumentNullException.ThrowIfNull(reply);
        Id(reply.Id, nameof(reply));
        TimeToLive(timeToLive);
        if (notifyInstance is { Length: 0 })
        {
            throw new ArgumentException("The instance to notify is empty; pass null to notify nobody.", nameof(notifyInstance));
        }
    }

    public static void Notify(string instanceId, CorrelationId id)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        Id(id);
    }

    /// <summary>A subscription: the channel's name (instance or service) and the callback.</summary>
    public static void Subscribe(string name, Delegate callback, string nameParameter, string callbackParameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, nameParameter);
        ArgumentNullException.ThrowIfNull(callback, callbackParameter);
    }

    /// <summary>TryClaim and RenewClaim: the request, its holder and the claim's time to live.</summary>
    public static void Claim(CorrelationId id, string holder, TimeSpan timeToLive)
    {
        IdAndName(id, holder, nameof(holder));
        TimeToLive(timeToLive);
    }

    public static void Claim(CorrelationId id, string holder, TimeSpan timeToLive, RpcClaimConditions conditions)
    {
        Claim(id, holder, timeToLive);
        ArgumentOutOfRangeException.ThrowIfNegative(conditions.RequestDeadlineUnixMs, nameof(conditions));
        if (conditions.Owner is { } owner)
        {
            if (string.IsNullOrEmpty(owner.InstanceId))
            {
                throw new ArgumentException("The owner record to write with the claim has no instance id.", nameof(conditions));
            }

            if (conditions.OwnerTimeToLive <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(conditions), conditions.OwnerTimeToLive, "The owner record's time to live must be positive.");
            }
        }
    }

    /// <summary>CompleteClaim: every reply present and of the claimed request.</summary>
    public static void CompleteClaim(CorrelationId id, string holder, IReadOnlyList<RpcReply> replies, TimeSpan timeToLive)
    {
        IdAndName(id, holder, nameof(holder));
        ArgumentNullException.ThrowIfNull(replies);
        TimeToLive(timeToLive);
        for (var i = 0; i < replies.Count; i++)
        {
            if (replies[i] is null)
            {
                throw new ArgumentException($"Reply {i} is null.", nameof(replies));
            }

            if (replies[i].Id != id)
            {
                throw new ArgumentException($"Reply {i} belongs to call {replies[i].Id}, not {id}.", nameof(replies));
            }
        }
    }

    public static void Cancel(string service, CorrelationId id, long requestDeadlineUnixMs, TimeSpan timeToLive)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        Id(id);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(requestDeadlineUnixMs);
        TimeToLive(timeToLive);
    }
}
