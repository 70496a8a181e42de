using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Ownership;
using TypedRpc.Serialization;
using TypedRpc.Transport;

namespace TypedRpc.Client;

/// <summary>
/// <see cref="IRpcResults"/> over the ownership store: a result is read from the replies stored
/// under its id, else from the replies its server's completed claim keeps (a reply that reached no
/// caller able to store it: its caller died); a wait first makes this instance the id's owner
/// (through <see cref="IResultOwnership"/>) so a reply read elsewhere is forwarded here.
/// </summary>
internal sealed class RpcResults : IRpcResults
{
    private const int FirstPollMs = 50;
    private const int MaxPollMs = 1_000;

    private readonly IRpcOwnershipStore? _store;
    private readonly IRpcSerializer _serializer;
    private readonly TypedRpcOptions _options;
    private readonly IResultOwnership _ownership;
    private readonly IRpcClaimStore? _claims;

    /// <param name="store">The ownership store, or <see langword="null"/> (then every lookup fails: results need a store).</param>
    /// <param name="serializer">Decodes stored values.</param>
    /// <param name="options">Settings: <see cref="TypedRpcOptions.EnableOwnership"/>, <see cref="TypedRpcOptions.StoreOperationTimeout"/>.</param>
    /// <param name="ownership">Makes this instance the owner of a result it waits for.</param>
    /// <param name="claims">The servers' claims, read when no reply is stored, or <see langword="null"/>.</param>
    public RpcResults(IRpcOwnershipStore? store, IRpcSerializer serializer, TypedRpcOptions options, IResultOwnership ownership, IRpcClaimStore? claims = null)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(ownership);
        _store = options.EnableOwnership ? store : null;
        _serializer = serializer;
        _options = options;
        _ownership = ownership;
        _claims = options.EnableOwnership ? claims : null;
    }

    /// <inheritdoc />
    public async ValueTask<RpcResult<T>> GetAsync<T>(string correlationId, CancellationToken cancellationToken = default)
    {
        var id = ParseId(correlationId);
        var store = RequireStore();
        IReadOnlyList<RpcReply> replies;
        try
        {
            replies = await store.GetRepliesAsync(id, cancellationToken).AsTask().WaitAsync(_options.StoreOperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.Unavailable, "The ownership store could not be read: " + ex.Message), correlationId, ex);
        }

        var result = ToResult<T>(id, replies);
        if (!result.IsPending || _claims is null)
        {
            return result;
        }

        // Nothing stored: the request may have completed with its replies sent where nobody stores
        // them (its caller died; over MQTT, to a reply topic nobody reads). Its claim keeps them.
        IReadOnlyList<RpcReply>? completed;
        try
        {
            completed = await _claims.GetCompletedRepliesAsync(id, cancellationToken).AsTask().WaitAsync(_options.StoreOperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.Unavailable, "The ownership store could not be read: " + ex.Message), correlationId, ex);
        }

        return completed is { Count: > 0 } ? ToResult<T>(id, completed) : result;
    }

    /// <inheritdoc />
    public async ValueTask<RpcResult<T>> WaitAsync<T>(string correlationId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        var id = ParseId(correlationId);
        RequireStore();
        var until = TimerWheel.NowMs + (long)timeout.TotalMilliseconds;
        var watchers = _ownership.Watchers;
        var watcher = watchers.Watch(id);
        try
        {
            // Take over ownership so a reply read by another instance is forwarded here.
            await _ownership.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _ownership.TakeOverAsync(id, timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw new RpcException(new RpcStatus(RpcStatusCode.Unavailable, "The ownership store could not be written: " + ex.Message), correlationId, ex);
            }

            var poll = FirstPollMs;
            while (true)
            {
                var result = await GetAsync<T>(correlationId, cancellationToken).ConfigureAwait(false);
                var remaining = until - TimerWheel.NowMs;
                if (!result.IsPending || remaining <= 0)
                {
                    return result;
                }

                // Woken by a reply or a forward; poll as a fallback (a wake-up can be missed while the store restarts).
                await Task.WhenAny(watcher.Task, Task.Delay((int)Math.Min(remaining, poll), cancellationToken)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                poll = Math.Min(poll * 2, MaxPollMs);
            }
        }
        finally
        {
            watchers.Unwatch(id, watcher);
        }
    }

    /// <summary>What the stored replies say: the first failure, else the end's value, else Pending.</summary>
    private RpcResult<T> ToResult<T>(CorrelationId id, IReadOnlyList<RpcReply> replies)
    {
        var text = id.ToString();
        for (var i = 0; i < replies.Count; i++)
        {
            var reply = replies[i];
            if (reply.Status != RpcStatusCode.OK)
            {
                return RpcResult<T>.Failed(reply.ToStatus(), text);
            }

            if (reply.IsEnd && reply.HasValue)
            {
                try
                {
                    return RpcResult<T>.Completed(PayloadCodec.DecodeValue<T>(reply.Payload, _serializer, id), text);
                }
                catch (RpcException ex)
                {
                    return RpcResult<T>.Failed(ex.Status, text);
                }
            }

            if (reply.IsEnd)
            {
                return RpcResult<T>.Completed(default!, text);
            }
        }

        return RpcResult<T>.Pending(text);
    }

    private static CorrelationId ParseId(string correlationId)
    {
        ArgumentNullException.ThrowIfNull(correlationId);
        return CorrelationId.TryParse(correlationId, out var id)
            ? id
            : throw new ArgumentException($"'{correlationId}' is not a correlation id (32 hexadecimal digits).", nameof(correlationId));
    }

    private IRpcOwnershipStore RequireStore() =>
        _store ?? throw new InvalidOperationException("Fetching results by correlation id needs an ownership store (UseInMemoryOwnershipStore, AddRedis) with TypedRpc:EnableOwnership on.");
}
