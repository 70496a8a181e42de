using System;
using System.Globalization;
using StackExchange.Redis;

namespace TypedRpc.Redis;

/// <summary>
/// The store's key and channel names under one namespace, in one place (the schema is in
/// docs/architecture.md, "Redis ownership store"). A call's id sits inside literal braces, Redis
/// Cluster's hash tag, so the keys of one call share a slot and a script may touch several of them.
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
