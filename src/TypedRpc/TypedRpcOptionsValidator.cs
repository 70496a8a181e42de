using System;
using System.Collections.Generic;
using Microsoft.Extensions.Options;

namespace TypedRpc;

/// <summary>Validates <see cref="TypedRpcOptions"/> on start; each message names the setting as it appears in configuration.</summary>
public sealed class TypedRpcOptionsValidator : IValidateOptions<TypedRpcOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TypedRpcOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    internal static List<string> Problems(TypedRpcOptions o)
    {
        var problems = new List<string>();
        const string P = TypedRpcOptions.SectionName + ":";
        if (string.IsNullOrWhiteSpace(o.InstanceId) || o.InstanceId.Length > 200 || !IsSafeName(o.InstanceId))
        {
            problems.Add($"{P}{nameof(o.InstanceId)} must be 1-200 characters of letters, digits, '.', '_' or '-' (got '{o.InstanceId}').");
        }

        Positive(problems, P + nameof(o.DefaultTimeout), o.DefaultTimeout);
        if (o.StreamIdleTimeout is { } idle)
        {
            Positive(problems, P + nameof(o.StreamIdleTimeout), idle);
        }

        Positive(problems, P + nameof(o.MaxStreamDuration), o.MaxStreamDuration);
        if (o.MaxStreamDuration > TimeSpan.FromDays(365))
        {
            problems.Add($"{P}{nameof(o.MaxStreamDuration)} must be at most 365 days (got {o.MaxStreamDuration}).");
        }

        Positive(problems, P + nameof(o.StoreOperationTimeout), o.StoreOperationTimeout);
        Positive(problems, P + nameof(o.ClaimTimeToLive), o.ClaimTimeToLive);
        if (o.ClaimTimeToLive < 3 * o.StoreOperationTimeout)
        {
            problems.Add($"{P}{nameof(o.ClaimTimeToLive)} must be at least three times {P}{nameof(o.StoreOperationTimeout)} (got {o.ClaimTimeToLive} and {o.StoreOperationTimeout}): claims are renewed every third of it, each renewal bounded by the store timeout.");
        }

        NotNegative(problems, P + nameof(o.OwnerGracePeriod), o.OwnerGracePeriod);
        Positive(problems, P + nameof(o.ResultTimeToLive), o.ResultTimeToLive);
        NotNegative(problems, P + nameof(o.ShutdownDrainTimeout), o.ShutdownDrainTimeout);
        Positive(problems, P + nameof(o.ReadinessTimeout), o.ReadinessTimeout);
        if (o.MaxPendingCalls < 1)
        {
            problems.Add($"{P}{nameof(o.MaxPendingCalls)} must be at least 1 (got {o.MaxPendingCalls}).");
        }

        if (o.MaxConcurrentRequests < 1)
        {
            problems.Add($"{P}{nameof(o.MaxConcurrentRequests)} must be at least 1 (got {o.MaxConcurrentRequests}).");
        }

        if (o.MaxCachedStreamReplies < 0)
        {
            problems.Add($"{P}{nameof(o.MaxCachedStreamReplies)} must not be negative (got {o.MaxCachedStreamReplies}).");
        }

        if (!Enum.IsDefined(o.WhenPendingCallsFull))
        {
            problems.Add($"{P}{nameof(o.WhenPendingCallsFull)} must be Wait or Fail (got {o.WhenPendingCallsFull}).");
        }

        if (!Enum.IsDefined(o.WhenStoreUnavailable))
        {
            problems.Add($"{P}{nameof(o.WhenStoreUnavailable)} must be FailCall or SendWithoutOwnership (got {o.WhenStoreUnavailable}).");
        }

        return problems;
    }

    private static void Positive(List<string> problems, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero || value.TotalMilliseconds > int.MaxValue)
        {
            problems.Add($"{name} must be greater than zero and at most {int.MaxValue} ms (got {value}).");
        }
    }

    private static void NotNegative(List<string> problems, string name, TimeSpan value)
    {
        if (value < TimeSpan.Zero || value.TotalMilliseconds > int.MaxValue)
        {
            problems.Add($"{name} must be zero or greater and at most {int.MaxValue} ms (got {value}).");
        }
    }

    private static bool IsSafeName(string name)
    {
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
