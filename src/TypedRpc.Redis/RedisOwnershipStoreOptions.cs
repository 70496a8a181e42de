using System;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace TypedRpc.Redis;

/// <summary>
/// Settings of a <see cref="RedisOwnershipStore"/>, validated by
/// <see cref="RedisOwnershipStoreOptionsValidator"/> (each problem names the setting as it appears
/// in configuration, under <see cref="SectionName"/>).
/// </summary>
public sealed class RedisOwnershipStoreOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "TypedRpc:Redis";

    /// <summary>The default <see cref="Namespace"/>.</summary>
    public const string DefaultNamespace = "trpc";

    /// <summary>
    /// A StackExchange.Redis configuration string (for example <c>localhost:6379</c> or
    /// <c>redis1:6379,redis2:6379,password=...</c>) from which the store creates, on its first
    /// operation, the one connection multiplexer it owns. Required unless
    /// <see cref="ConnectionMultiplexerFactory"/> is set.
    /// </summary>
    /// <remarks>
    /// <c>abortConnect</c> is always turned off, so a store starts while Redis is down and connects
    /// when it comes up; <c>asyncTimeout</c> is always <see cref="OperationTimeout"/>, with a
    /// heartbeat (when the client looks for overdue commands) of a tenth of it, from 10 ms to 1 s;
    /// the backlog policy is fail-fast, so a command issued while disconnected fails at once
    /// rather than waiting for a reconnect. Unless the string sets it, <c>connectTimeout</c> is 5 s.
    /// </remarks>
    public string? Configuration { get; set; }

    /// <summary>
    /// Supplies a multiplexer the application already has (one per process is the rule), instead of
    /// creating one from <see cref="Configuration"/>. Called once, on the store's first operation.
    /// The store neither changes nor disposes a multiplexer it did not create: its own
    /// <c>asyncTimeout</c> bounds each command (keep it no longer than <see cref="OperationTimeout"/>),
    /// and its backlog policy decides what a command issued while disconnected does.
    /// </summary>
    public Func<Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>
    /// The prefix of every key and channel, so that several applications (or tests) can share one
    /// Redis: 1–64 letters, digits, '.', '_', '-' or ':' (no braces: they would change the hash
    /// slot of every key). Default <c>trpc</c>.
    /// </summary>
    public string Namespace { get; set; } = DefaultNamespace;

    /// <summary>
    /// The longest one store operation may take; a slower one fails with a
    /// <see cref="TimeoutException"/> naming it. The store bounds connecting with it, and gives it
    /// to the multiplexer it creates as <c>asyncTimeout</c>, StackExchange.Redis's own bound on
    /// each awaited command (a command times out at most a tenth of it late: the client checks on
    /// its heartbeat). Default 2 s.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The most wake-ups one subscription queues while its callback is busy; beyond that the
    /// oldest are dropped (a wake-up is a hint: a waiter also checks the stored replies when its
    /// deadline comes). Default 10,000.
    /// </summary>
    public int WakeUpQueueCapacity { get; set; } = 10_000;
}
