using System;
using System.Collections.Generic;
using Microsoft.Extensions.Options;

namespace TypedRpc.Kafka;

/// <summary>Validates <see cref="KafkaTransportOptions"/>; each message names the setting.</summary>
public sealed class KafkaTransportOptionsValidator : IValidateOptions<KafkaTransportOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, KafkaTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    internal static List<string> Problems(KafkaTransportOptions o)
    {
        const string P = KafkaTransportOptions.SectionName + ":";
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(o.BootstrapServers))
        {
            problems.Add($"{P}{nameof(o.BootstrapServers)} is required (host:port[,host:port...]).");
        }

        CheckName(problems, P + nameof(o.ClientGroup), o.ClientGroup);
        if (o.ReplyTopic is not null)
        {
            CheckName(problems, P + nameof(o.ReplyTopic), o.ReplyTopic);
        }

        if (o.DeadLetterTopic is not null)
        {
            CheckName(problems, P + nameof(o.DeadLetterTopic), o.DeadLetterTopic);
        }

        foreach (var (service, topic) in o.RequestTopics)
        {
            CheckName(problems, $"{P}{nameof(o.RequestTopics)}:{service}", topic);
        }

        if (o.ServerGroupPrefix is null || o.ServerGroupPrefix.Length > 100)
        {
            problems.Add($"{P}{nameof(o.ServerGroupPrefix)} must be at most 100 characters.");
        }

        Range(problems, P + nameof(o.ReplyPartitions), o.ReplyPartitions, 1, 10_000);
        Range(problems, P + nameof(o.RequestPartitions), o.RequestPartitions, 1, 10_000);
        Range(problems, P + nameof(o.MaxMessageBytes), o.MaxMessageBytes, 1_024, 1_000_000_000);
        Range(problems, P + nameof(o.MaxDeliveryAttempts), o.MaxDeliveryAttempts, 1, 100);
        Positive(problems, P + nameof(o.MessageTimeout), o.MessageTimeout);
        Positive(problems, P + nameof(o.CloseTimeout), o.CloseTimeout);
        Positive(problems, P + nameof(o.LeaseTimeToLive), o.LeaseTimeToLive);
        Positive(problems, P + nameof(o.LeaseRenewInterval), o.LeaseRenewInterval);
        if (o.FetchWaitMax < TimeSpan.Zero || o.FetchWaitMax > TimeSpan.FromSeconds(30))
        {
            problems.Add($"{P}{nameof(o.FetchWaitMax)} must be between 0 and 30 s (got {o.FetchWaitMax}).");
        }

        if (!Enum.IsDefined(o.ReplyRouting))
        {
            problems.Add($"{P}{nameof(o.ReplyRouting)} must be LeasedPartitions, ConsumerGroup or Broadcast (got {o.ReplyRouting}).");
        }

        if (o.LeaseRenewInterval * 2 > o.LeaseTimeToLive)
        {
            problems.Add($"{P}{nameof(o.LeaseRenewInterval)} ({o.LeaseRenewInterval}) must be at most half of {P}{nameof(o.LeaseTimeToLive)} ({o.LeaseTimeToLive}), so one missed renewal does not lose the lease.");
        }

        return problems;
    }

    private static void CheckName(List<string> problems, string setting, string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 249 || value is "." or "..")
        {
            problems.Add($"{setting} must be a Kafka topic name of 1-249 characters (got '{value}').");
            return;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                problems.Add($"{setting} may contain only letters, digits, '.', '_' and '-' (got '{value}').");
                return;
            }
        }
    }

    private static void Range(List<string> problems, string setting, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            problems.Add($"{setting} must be between {min} and {max} (got {value}).");
        }
    }

    private static void Positive(List<string> problems, string setting, TimeSpan value)
    {
        if (value <= TimeSpan.Zero || value.TotalMilliseconds > int.MaxValue)
        {
            problems.Add($"{setting} must be greater than zero (got {value}).");
        }
    }
}
