namespace TypedRpc.Redis;

/// <summary>
/// The Lua scripts, one per step that must be atomic. Every script that writes a key sets its
/// expiry in the same script, so no key ever exists without a time to live.
/// </summary>
/// <remarks>
/// Each call sends <c>EVALSHA</c> with the script's hash (<see cref="RedisScript"/>). When the server
/// answers <c>NOSCRIPT</c> (the first call on a server, or after it restarted or its cache was
/// flushed), the call is repeated with the text, for which StackExchange.Redis sends
/// <c>SCRIPT LOAD</c> first on the same connection. Keys are passed as KEYS so that a cluster
/// routes the script to the slot that holds them.
/// </remarks>
internal static class RedisScripts
{
    /// <summary>
    /// Appends a reply unless its sequence is stored, renews the replies' expiry, then publishes
    /// the wake-up — in one step, so a woken owner always finds the reply. A stored DeadlineExceeded
    /// end (format version 1, end flag set, status 4: bytes 1, 18 and 19 of the stored form) gives
    /// way to a message that is not one: it said only that no result came in time.
    /// KEYS[1] replies; ARGV[1] sequence, ARGV[2] encoded reply, ARGV[3] ttl ms,
    /// ARGV[4] channel ('' for none), ARGV[5] message, ARGV[6] '1' when the reply may replace a
    /// stored DeadlineExceeded end. Returns 1 when added, 0 for a duplicate.
    /// </summary>
    public static readonly RedisScript StoreReply = new("""
        local added = 0
        local stored = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
        if #stored == 0 then
          redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
          added = 1
        elseif ARGV[6] == '1' then
          local old = stored[1]
          if string.byte(old, 1) == 1 and string.byte(old, 18) % 2 == 1 and string.byte(old, 19) == 4 then
            redis.call('ZREM', KEYS[1], old)
            redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
            added = 1
          end
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        if ARGV[4] ~= '' then
          redis.call('PUBLISH', ARGV[4], ARGV[5])
        end
        return added
        """);

    /// <summary>
    /// Claims a request, or reports its state. KEYS[1] claim, KEYS[2] cancel marker, KEYS[3] owner
    /// record; ARGV[1] holder, ARGV[2] ttl ms, ARGV[3] the request's deadline ('' for no cancel
    /// check), ARGV[4] its fingerprint ('' for none), ARGV[5] the caller's encoded owner record to
    /// write when claimed and none exists ('' for none), ARGV[6] that record's ttl ms. Returns {4}
    /// when the caller cancelled this request (the
    /// marker holds its deadline), {3, holder} when the claim was made with another fingerprint,
    /// {0, holder} when claimed now (or already held by ARGV[1]: a retried claim, renewed), {1,
    /// holder} while another holder runs it, {2, holder or nil, replies} once completed.
    /// </summary>
    public static readonly RedisScript TryClaim = new("""
        if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then
          return {4}
        end
        local claim = redis.call('HMGET', KEYS[1], 'h', 'r', 'f')
        if ARGV[4] ~= '' and claim[3] and claim[3] ~= ARGV[4] then
          return {3, claim[1]}
        end
        if claim[2] then
          return {2, claim[1], claim[2]}
        end
        if not claim[1] or claim[1] == ARGV[1] then
          redis.call('HSET', KEYS[1], 'h', ARGV[1])
          if ARGV[4] ~= '' then
            redis.call('HSET', KEYS[1], 'f', ARGV[4])
          end
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          if ARGV[5] ~= '' then
            redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[6], 'NX')
          end
          return {0, ARGV[1]}
        end
        return {1, claim[1]}
        """);

    /// <summary>
    /// Records that a request's caller cancelled it, then signals the service's servers.
    /// KEYS[1] cancel marker; ARGV[1] the request's deadline, ARGV[2] ttl ms, ARGV[3] channel,
    /// ARGV[4] message (the id, a colon and the deadline). Returns 1.
    /// </summary>
    public static readonly RedisScript Cancel = new("""
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('PUBLISH', ARGV[3], ARGV[4])
        return 1
        """);

    /// <summary>
    /// Extends a running claim for its holder, or takes it again when it is gone (it expired while
    /// renewals failed and nobody took it over). KEYS[1] claim; ARGV[1] holder, ARGV[2] ttl ms.
    /// Returns 1 when renewed, 0 when another holder has it or it completed.
    /// </summary>
    public static readonly RedisScript RenewClaim = new("""
        local claim = redis.call('HMGET', KEYS[1], 'h', 'r')
        if claim[2] or (claim[1] and claim[1] ~= ARGV[1]) then
          return 0
        end
        redis.call('HSET', KEYS[1], 'h', ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """);

    /// <summary>
    /// Marks a request completed with its replies, if the holder holds the claim or none is left
    /// (a late completion still serves later deliveries); a claim another holder took over is left
    /// alone. KEYS[1] claim; ARGV[1] holder, ARGV[2] encoded replies, ARGV[3] ttl ms. Returns 1 when
    /// written, 0 when another holder has the claim.
    /// </summary>
    public static readonly RedisScript CompleteClaim = new("""
        local holder = redis.call('HGET', KEYS[1], 'h')
        if holder and holder ~= ARGV[1] then
          return 0
        end
        redis.call('HSET', KEYS[1], 'h', ARGV[1], 'r', ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """);

    /// <summary>
    /// Drops a running claim held by the instance; a completed claim keeps its replies.
    /// KEYS[1] claim; ARGV[1] instance. Returns 1 when dropped.
    /// </summary>
    public static readonly RedisScript ReleaseClaim = new("""
        if redis.call('HGET', KEYS[1], 'h') == ARGV[1] and redis.call('HEXISTS', KEYS[1], 'r') == 0 then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """);

    /// <summary>
    /// Deletes the owner record if the instance owns it: the record starts with the bytes in
    /// ARGV[1] (version and length-prefixed instance id, so 'a' never matches 'ab').
    /// KEYS[1] owner. Returns 1 when deleted.
    /// </summary>
    public static readonly RedisScript ReleaseOwner = new("""
        local owner = redis.call('GET', KEYS[1])
        if owner and string.sub(owner, 1, string.len(ARGV[1])) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """);

    /// <summary>
    /// Takes a free lease, or renews it for its holder. KEYS[1] lease; ARGV[1] instance,
    /// ARGV[2] ttl ms. Returns 1 when the instance holds it now.
    /// </summary>
    public static readonly RedisScript AcquireLease = new("""
        local holder = redis.call('GET', KEYS[1])
        if holder and holder ~= ARGV[1] then
          return 0
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """);

    /// <summary>Extends a lease only for its holder. KEYS[1] lease; ARGV[1] instance, ARGV[2] ttl ms. Returns 1 when renewed.</summary>
    public static readonly RedisScript RenewLease = new("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """);

    /// <summary>Deletes a lease only for its holder. KEYS[1] lease; ARGV[1] instance. Returns 1 when deleted.</summary>
    public static readonly RedisScript ReleaseLease = new("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """);
}
