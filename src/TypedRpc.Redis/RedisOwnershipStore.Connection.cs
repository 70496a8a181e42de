using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace TypedRpc.Redis;

// The connection, made on first use, and how each command runs on it: bounded in time, a script by
// its hash first, a timeout reported naming the operation.
public sealed partial class RedisOwnershipStore
{
    /// <summary>Runs a script by its hash (see <see cref="RedisScripts"/>), by its text when the server does not know the hash.</summary>
    internal ValueTask<RedisResult> EvaluateAsync(string operation, RedisScript script, RedisKey[] keys, RedisValue[] values, CancellationToken cancellationToken) =>
        RunAsync(
            operation,
            (Script: script, Keys: keys, Values: values),
            static (c, s) => c.Database.ScriptEvaluateAsync(s.Script.Hash, s.Keys, s.Values),
            cancellationToken,
            static (c, s) => c.Database.ScriptEvaluateAsync(s.Script.Text, s.Keys, s.Values));

    /// <summary>
    /// Runs one Redis command (or script), connecting first if needed (within the operation
    /// timeout). The command itself is bounded by the multiplexer's <c>asyncTimeout</c>; its
    /// timeout is reported as the store's, naming the operation. A script sent by hash that the
    /// server answers <c>NOSCRIPT</c> is sent once more as <paramref name="byText"/>. The commands
    /// are static lambdas over <typeparamref name="TState"/>, so no closure is allocated per call.
    /// </summary>
    internal async ValueTask<TResult> RunAsync<TState, TResult>(
        string operation,
        TState state,
        Func<RedisConnection, TState, Task<TResult>> command,
        CancellationToken cancellationToken,
        Func<RedisConnection, TState, Task<TResult>>? byText = null)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        var connection = _connection ?? await ConnectAsync(operation, cancellationToken).ConfigureAwait(false);

        // Checked again after connecting: nothing is sent for a caller that has given up.
        cancellationToken.ThrowIfCancellationRequested();
        while (true)
        {
            var task = command(connection, state);
            try
            {
                // Only a token that can fire needs WaitAsync (and what it allocates).
                return cancellationToken.CanBeCanceled
                    ? await task.WaitAsync(cancellationToken).ConfigureAwait(false)
                    : await task.ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (byText is not null && ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                // The script did not run: this server has not loaded it yet (or restarted, or its
                // cache was flushed). Given the text, StackExchange.Redis loads it first.
                command = byText;
                byText = null;
            }
            catch (RedisTimeoutException ex)
            {
                throw CommandTimedOut(connection, operation, ex);
            }
            catch (OperationCanceledException) when (!task.IsCompleted)
            {
                ObserveLater(task);
                throw;
            }
        }
    }

    private async ValueTask<RedisConnection> ConnectAsync(string operation, CancellationToken cancellationToken)
    {
        Task<RedisConnection> connecting;
        lock (_connectLock)
        {
            // A failed attempt is not cached: the next operation tries again.
            if (_connecting is null || _connecting.IsFaulted || _connecting.IsCanceled)
            {
                // Without the caller's ExecutionContext: the multiplexer's timers and threads live
                // as long as the process and must not keep the first caller's async-locals alive.
                using (ExecutionContext.SuppressFlow())
                {
                    _connecting = Task.Run(CreateConnectionAsync);
                }
            }

            connecting = _connecting;
        }

        try
        {
            return await connecting.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            ObserveLater(connecting);
            throw OperationTimedOut(operation + " (connecting)", null);
        }
        catch (OperationCanceledException) when (!connecting.IsCompleted)
        {
            ObserveLater(connecting);
            throw;
        }
    }

    private async Task<RedisConnection> CreateConnectionAsync()
    {
        var multiplexer = await _connect!().ConfigureAwait(false)
            ?? throw new InvalidOperationException($"{nameof(RedisOwnershipStoreOptions.ConnectionMultiplexerFactory)} returned null.");
        var connection = new RedisConnection(multiplexer, _ownsMultiplexer, _logger);
        _connection = connection;

        // Pairs with the Interlocked.Exchange in DisposeAsync: one of the two sees the other's
        // write, so a connection made while disposing is closed.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _disposed) != 0)
        {
            await connection.CloseAsync(_timeout).ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(RedisOwnershipStore));
        }

        return connection;
    }

    private TimeoutException OperationTimedOut(string operation, Exception? inner) =>
        new($"The Redis operation {operation} did not complete within {_timeout.TotalMilliseconds:0} ms "
            + $"({RedisOwnershipStoreOptions.SectionName}:{nameof(RedisOwnershipStoreOptions.OperationTimeout)}); Redis is slow or unreachable.", inner);

    private static TimeoutException CommandTimedOut(RedisConnection connection, string operation, RedisTimeoutException inner) =>
        new($"The Redis operation {operation} did not complete within {connection.CommandTimeout.TotalMilliseconds:0} ms ("
            + (connection.Owned
                ? $"{RedisOwnershipStoreOptions.SectionName}:{nameof(RedisOwnershipStoreOptions.OperationTimeout)}"
                : "the asyncTimeout of the application's multiplexer")
            + "); Redis is slow or unreachable.", inner);

    private static async ValueTask IgnoreResult<T>(ValueTask<T> operation) => await operation.ConfigureAwait(false);

    private static async ValueTask<bool> IsOne(ValueTask<RedisResult> operation) => (long)await operation.ConfigureAwait(false) == 1;

    // Redis expiries are whole milliseconds; a positive span below one rounds up, never to 0
    // (which Redis refuses, or would treat as "expire now").
    internal static long Milliseconds(TimeSpan timeToLive, string parameterName = "timeToLive")
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero, parameterName);
        if (timeToLive > MaxTimeToLive)
        {
            timeToLive = MaxTimeToLive;
        }

        var ms = timeToLive.Ticks / TimeSpan.TicksPerMillisecond;
        return timeToLive.Ticks % TimeSpan.TicksPerMillisecond == 0 ? ms : ms + 1;
    }
}
