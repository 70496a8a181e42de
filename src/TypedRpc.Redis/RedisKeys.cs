using System;
using System.Globalization;
using StackExchange.Redis;

namespace TypedRpc.Redis;

/// <summary>
/// The key schema, in one place. With namespace <c>ns</c> and a call's 32-hex-digit id:
/// <list type="table">
/// <item><term><c>ns:own:{id}</c></term><description>the owner record (a string)</description></item>
/// <item><term><c>ns:res:{id}</c></term><description>the call's stored replies (a sorted set scored by sequence)</description></item>
/// <item><term><c>ns:claim:{id}</c></term><description>a server's claim: hash with the holder <c>h</c> and, once completed, the replies <c>r</c></description></item>
/// <item><term><c>ns:cancel:{id}</c></term><description>a cancel marker: the deadline of the request its caller cancelled (a string)</description></item>
/// <item><term><c>ns:lease:name:index</c></term><description>a named lease (a string: the holder); reply-partition leases are named after the client group, indexed by partition</description></item>
/// <item><term><c>ns:wake:instance</c></term><description>an instance's wake-up channel (pub/sub, not a key)</description></item>
/// <item><term><c>ns:cancel:service</c></term><description>a service's cancellation channel (pub/sub, not a key)</description></item>
/// </list>
/// The braces around the id are literal: Redis Cluster hashes only what is inside them, so the
/// keys of one call share a slot and a script may touch several of them.
/// </summary>
internal sealed class RedisKeys
{
    private readonly string _owner;
    private readonly string _replies;
    private readonly string _claim;
    private readonly string _lease;
    private readonly string _wake;
    private readonly string _cancel;
    private readonly string _cancelTagged;

    public RedisKeys(string ns)
    {
        Namespace = ns;
        _owner = ns + ":own:{";
        _replies = ns + ":res:{";
        _claim = ns + ":claim:{";
        _lease = ns + ":lease:";
        _wake = ns + ":wake:";
        _cancel = ns + ":cancel:";
        _cancelTagged = _cancel + "{";
    }

    public string Namespace { get; }

    public RedisKey Owner(CorrelationId id) => Tagged(_owner, id);

    public RedisKey Replies(CorrelationId id) => Tagged(_replies, id);

    public RedisKey Claim(CorrelationId id) => Tagged(_claim, id);

    public RedisKey Cancel(CorrelationId id) => Tagged(_cancelTagged, id);

    /// <summary>A service's cancellation channel as Redis sees it (before any client-side channel prefix).</summary>
    public string CancelChannel(string service) => _cancel + service;

    public RedisKey Lease(string name, int index) =>
        string.Concat(_lease, name, ":", index.ToString(CultureInfo.InvariantCulture));

    /// <summary>The wake-up channel's name as Redis sees it (before any client-side channel prefix).</summary>
    public string WakeChannel(string instanceId) => _wake + instanceId;

    // One allocation: the prefix, the id's hex digits and the closing brace written in place.
    private static string Tagged(string prefix, CorrelationId id) =>
        string.Create(prefix.Length + 33, (prefix, id), static (span, state) =>
        {
            state.prefix.CopyTo(span);
            Span<byte> bytes = stackalloc byte[CorrelationId.Size];
            state.id.WriteTo(bytes);
            Convert.TryToHexStringLower(bytes, span.Slice(state.prefix.Length, 32), out _);
            span[^1] = '}';
        });
}
