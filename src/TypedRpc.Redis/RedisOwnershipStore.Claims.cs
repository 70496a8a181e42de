using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;
using TypedRpc.Ownership;
using TypedRpc.Redis.Codec;
using TypedRpc.Transport;

namespace TypedRpc.Redis;

// Claims and cancellations (IRpcClaimStore): a hash per claim, a string per cancel marker, a
// pub/sub channel per service; every step is one script.
public sealed partial class RedisOwnershipStore
{
    /// <inheritdoc />
    /// <remarks>
    /// One script: a missing claim is taken (holder and expiry together); a running claim answers
    /// <see cref="RpcClaimState.Running"/> to every other holder, and <see cref="RpcClaimState.Claimed"/>
    /// (renewed) to its own holder — a claim retried after a timeout may have succeeded unseen; a
    /// completed one answers <see cref="RpcClaimState.Completed"/> with its replies. A released or
    /// expired claim can be taken again. <see cref="RpcClaim.Holder"/> is set in every state
    /// (<see langword="null"/> only for a completed claim stored without a holder field).
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    /// <exception cref="System.IO.InvalidDataException">The stored replies are not in the store's format.</exception>
    public ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        TryClaimAsync(id, holder, timeToLive, default, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Always: the claim script writes the owner record (<c>ns:own:{id}</c>, in the claim's slot).</remarks>
    public bool RecordsOwners => true;

    /// <inheritdoc />
    /// <remarks>
    /// The same script, reading the request's cancel marker (<c>ns:cancel:{id}</c>, in the claim's
    /// slot) and the fingerprint field <c>f</c> of the claim first; a claim taken writes the
    /// conditions' owner record (<c>SET NX PX</c>) in the same script.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive, or the conditions' deadline is negative.</exception>
    /// <exception cref="System.IO.InvalidDataException">The stored replies are not in the store's format.</exception>
    public ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, RpcClaimConditions conditions, CancellationToken cancellationToken)
    {
        StoreArguments.Claim(id, holder, timeToLive, conditions);
        return TryClaimCoreAsync(id, holder, Milliseconds(timeToLive), conditions, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>One <c>HMGET</c> of the claim's holder and replies (<c>ns:claim:{id}</c>): running when it has a holder and no replies. A claim expires after its dead holder's last renewal.</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    public ValueTask<bool?> IsRunningAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        StoreArguments.Id(id);
        return IsRunningCoreAsync(id, cancellationToken);
    }

    private async ValueTask<bool?> IsRunningCoreAsync(CorrelationId id, CancellationToken cancellationToken) =>
        await RunAsync("IsRunning", _keys.Claim(id), static async (c, k) =>
        {
            var fields = await c.Database.HashGetAsync(k, s_runningFields).ConfigureAwait(false);
            return !fields[0].IsNull && fields[1].IsNull;
        }, cancellationToken).ConfigureAwait(false);

    private static readonly RedisValue[] s_runningFields = ["h", "r"];

    /// <inheritdoc />
    /// <remarks>One <c>HGET</c> of the claim's replies field (<c>ns:claim:{id}</c>).</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    /// <exception cref="System.IO.InvalidDataException">The stored replies are not in the store's format.</exception>
    public ValueTask<IReadOnlyList<RpcReply>?> GetCompletedRepliesAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        StoreArguments.Id(id);
        return GetCompletedRepliesCoreAsync(id, cancellationToken);
    }

    private async ValueTask<IReadOnlyList<RpcReply>?> GetCompletedRepliesCoreAsync(CorrelationId id, CancellationToken cancellationToken)
    {
        var key = _keys.Claim(id);
        var value = await RunAsync("GetCompletedReplies", key, static (c, k) => c.Database.HashGetAsync(k, "r"), cancellationToken).ConfigureAwait(false);
        return value.IsNull ? Array.Empty<RpcReply>() : RpcReplyCodec.DecodeList((byte[])value!, key!, id);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One script sets the marker (<c>ns:cancel:{id}</c>, holding the deadline, with the given
    /// expiry) and publishes <c>id:deadline</c> (32 hex digits, a colon, the deadline in decimal)
    /// on the service's channel <c>ns:cancel:service</c>. Pub/sub keeps
    /// nothing: a server not subscribed at that moment finds out at its next claim, or stops at the
    /// request's deadline.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="service"/> is null or empty, or <paramref name="id"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="requestDeadlineUnixMs"/> or <paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> CancelAsync(string service, CorrelationId id, long requestDeadlineUnixMs, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        StoreArguments.Cancel(service, id, requestDeadlineUnixMs, timeToLive);
        var ttl = Milliseconds(timeToLive);
        var state = (Key: _keys.Cancel(id), Channel: _keys.CancelChannel(service),
            Values: new RedisValue[] { requestDeadlineUnixMs, ttl, RedisValue.EmptyString, id.ToString() + ":" + requestDeadlineUnixMs.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return IsOne(RunAsync(
            "Cancel",
            state,
            static (c, s) =>
            {
                s.Values[2] = c.ChannelPrefix + s.Channel;
                return c.Database.ScriptEvaluateAsync(RedisScripts.Cancel.Hash, [s.Key], s.Values);
            },
            cancellationToken,
            static (c, s) => c.Database.ScriptEvaluateAsync(RedisScripts.Cancel.Text, [s.Key], s.Values)));
    }

    /// <inheritdoc />
    /// <remarks>One script compares the holder and extends the expiry.</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> RenewClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        StoreArguments.Claim(id, holder, timeToLive);
        var ttl = Milliseconds(timeToLive);
        return IsOne(EvaluateAsync("RenewClaim", RedisScripts.RenewClaim, [_keys.Claim(id)], [holder, ttl], cancellationToken));
    }

    /// <inheritdoc />
    /// <remarks>
    /// One script: written when <paramref name="holder"/> holds the claim or none is left; a claim
    /// another holder took over (this one stalled past its expiry) is left to that holder. The
    /// claim's expiry becomes <paramref name="timeToLive"/>.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, <paramref name="holder"/> is null or empty, or <paramref name="replies"/> contains null or a reply of another call.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="replies"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public ValueTask<bool> CompleteClaimAsync(CorrelationId id, string holder, IReadOnlyList<RpcReply> replies, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        StoreArguments.CompleteClaim(id, holder, replies, timeToLive);
        var ttl = Milliseconds(timeToLive);
        return IsOne(EvaluateAsync(
            "CompleteClaim",
            RedisScripts.CompleteClaim,
            [_keys.Claim(id)],
            [holder, RpcReplyCodec.EncodeList(replies), ttl],
            cancellationToken));
    }

    /// <inheritdoc />
    /// <remarks>Does nothing when the claim is held by another holder or has completed (its replies stay).</remarks>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty, or <paramref name="holder"/> is null or empty.</exception>
    public ValueTask ReleaseClaimAsync(CorrelationId id, string holder, CancellationToken cancellationToken)
    {
        StoreArguments.IdAndName(id, holder, nameof(holder));
        return IgnoreResult(EvaluateAsync(
            "ReleaseClaim",
            RedisScripts.ReleaseClaim,
            [_keys.Claim(id)],
            [holder],
            cancellationToken));
    }

    private async ValueTask<RpcClaim> TryClaimCoreAsync(CorrelationId id, string instanceId, long ttl, RpcClaimConditions conditions, CancellationToken cancellationToken)
    {
        var key = _keys.Claim(id);
        RedisValue deadline = conditions.RequestDeadlineUnixMs == 0 ? RedisValue.EmptyString : conditions.RequestDeadlineUnixMs;
        RedisValue fingerprint = conditions.Fingerprint ?? RedisValue.EmptyString;
        RedisValue owner = conditions.Owner is { } record ? RpcOwnerCodec.Encode(record) : RedisValue.EmptyString;
        RedisValue ownerTtl = conditions.Owner is not null ? Milliseconds(conditions.OwnerTimeToLive) : RedisValue.EmptyString;
        var result = await EvaluateAsync("TryClaim", RedisScripts.TryClaim, [key, _keys.Cancel(id), _keys.Owner(id)], [instanceId, ttl, deadline, fingerprint, owner, ownerTtl], cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[]?)result;
        if (parts is { Length: 1 } && (int)parts[0] == 4)
        {
            return new RpcClaim(RpcClaimState.Cancelled, null, Array.Empty<RpcReply>());
        }

        if (parts is null || parts.Length < 2)
        {
            throw new System.IO.InvalidDataException($"The claim script for Redis key '{key}' returned an unexpected result.");
        }

        var holder = parts[1].IsNull ? null : (string?)parts[1];
        switch ((int)parts[0])
        {
            case 0:
                return new RpcClaim(RpcClaimState.Claimed, holder, Array.Empty<RpcReply>());
            case 1:
                return new RpcClaim(RpcClaimState.Running, holder, Array.Empty<RpcReply>());
            case 3:
                return new RpcClaim(RpcClaimState.Conflict, holder, Array.Empty<RpcReply>());
            case 2 when parts.Length == 3 && (byte[]?)parts[2] is { } replies:
                return new RpcClaim(RpcClaimState.Completed, holder, RpcReplyCodec.DecodeList(replies, key!, id));
            default:
                throw new System.IO.InvalidDataException($"The claim script for Redis key '{key}' returned an unexpected result.");
        }
    }
}
