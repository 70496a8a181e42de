using System;
using System.Collections.Generic;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace TypedRpc.Redis;

/// <summary>Validates <see cref="RedisOwnershipStoreOptions"/>; each message names the setting as it appears in configuration.</summary>
public sealed class RedisOwnershipStoreOptionsValidator : IValidateOptions<RedisOwnershipStoreOptions>
{
    private const int MaxNamespaceLength = 64;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RedisOwnershipStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = Problems(options, requireConnection: true);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    internal static List<string> Problems(RedisOwnershipStoreOptions o, bool requireConnection)
    {
        var problems = new List<string>();
        const string P = RedisOwnershipStoreOptions.SectionName + ":";

        if (requireConnection && o.ConnectionMultiplexerFactory is null)
        {
            if (string.IsNullOrWhiteSpace(o.Configuration))
            {
                problems.Add($"{P}{nameof(o.Configuration)} must be a StackExchange.Redis configuration string such as 'localhost:6379' (or set {nameof(o.ConnectionMultiplexerFactory)}).");
            }
            else if (ConfigurationProblem(o.Configuration) is { } problem)
            {
                problems.Add($"{P}{nameof(o.Configuration)} is not a valid StackExchange.Redis configuration string: {problem}");
            }
        }

        if (string.IsNullOrEmpty(o.Namespace) || o.Namespace.Length > MaxNamespaceLength || !IsNamespace(o.Namespace))
        {
            problems.Add($"{P}{nameof(o.Namespace)} must be 1-{MaxNamespaceLength} characters of letters, digits, '.', '_', '-' or ':' (got '{o.Namespace}').");
        }

        // WaitAsync accepts up to uint.MaxValue - 1 ms; a day is already far beyond any sane bound.
        if (o.OperationTimeout <= TimeSpan.Zero || o.OperationTimeout > TimeSpan.FromDays(1))
        {
            problems.Add($"{P}{nameof(o.OperationTimeout)} must be positive and at most one day (got {o.OperationTimeout}).");
        }

        if (o.WakeUpQueueCapacity < 1)
        {
            problems.Add($"{P}{nameof(o.WakeUpQueueCapacity)} must be at least 1 (got {o.WakeUpQueueCapacity}).");
        }

        return problems;
    }

    /// <summary>Throws when the options are invalid; for the store's constructor.</summary>
    internal static void ThrowIfInvalid(RedisOwnershipStoreOptions options, bool requireConnection)
    {
        var problems = Problems(options, requireConnection);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }
    }

    private static string? ConfigurationProblem(string configuration)
    {
        try
        {
            var parsed = ConfigurationOptions.Parse(configuration);
            return parsed.EndPoints.Count == 0 ? "it names no endpoint." : null;
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }
    }

    private static bool IsNamespace(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-' or ':'))
            {
                return false;
            }
        }

        return true;
    }
}
