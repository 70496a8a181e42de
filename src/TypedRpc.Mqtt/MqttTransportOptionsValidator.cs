using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Microsoft.Extensions.Options;

namespace TypedRpc.Mqtt;

/// <summary>Validates <see cref="MqttTransportOptions"/>; each message names the setting.</summary>
public sealed class MqttTransportOptionsValidator : IValidateOptions<MqttTransportOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, MqttTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    internal static List<string> Problems(MqttTransportOptions o)
    {
        const string P = MqttTransportOptions.SectionName + ":";
        var problems = new List<string>();
        if (!TrySplitServer(o.Server, o.UseTls, out _, out _))
        {
            problems.Add($"{P}{nameof(o.Server)} is required as host or host:port, the port 1-65535 (got '{o.Server}').");
        }

        CheckTopicPart(problems, P + nameof(o.ClientGroup), o.ClientGroup);
        CheckPattern(problems, P + nameof(o.RequestTopic), o.RequestTopic, ["{service}", "{method}"]);
        if (o.RequestTopic is { } requestTopic && requestTopic.Contains("{method}", StringComparison.Ordinal) && Array.IndexOf(requestTopic.Split('/'), "{method}") < 0)
        {
            // Servers subscribe with '+' in its place, and '+' stands for a whole level.
            problems.Add($"{P}{nameof(o.RequestTopic)} must have {{method}} as a whole topic level, between slashes (got '{requestTopic}').");
        }
        CheckPattern(problems, P + nameof(o.ReplyTopic), o.ReplyTopic, ["{instanceId}"]);
        if (o.ServerGroupPrefix is null || o.ServerGroupPrefix.Length > 100 || o.ServerGroupPrefix.AsSpan().IndexOfAny("/+#") >= 0)
        {
            problems.Add($"{P}{nameof(o.ServerGroupPrefix)} must be at most 100 characters without '/', '+' or '#' (it starts a shared subscription's name; got '{o.ServerGroupPrefix}').");
        }

        if (o.Password is not null && o.Username is null)
        {
            problems.Add($"{P}{nameof(o.Password)} is set without {P}{nameof(o.Username)}.");
        }

        if (!o.UseTls && (o.CaCertificateFile ?? o.ClientCertificateFile ?? o.ClientKeyFile) is not null)
        {
            problems.Add($"{P}{nameof(o.CaCertificateFile)}, {nameof(o.ClientCertificateFile)} and {nameof(o.ClientKeyFile)} need {P}{nameof(o.UseTls)} = true.");
        }

        if ((o.ClientCertificateFile is null) != (o.ClientKeyFile is null))
        {
            problems.Add($"{P}{nameof(o.ClientCertificateFile)} and {P}{nameof(o.ClientKeyFile)} go together.");
        }

        foreach (var (setting, file) in new[] { (nameof(o.CaCertificateFile), o.CaCertificateFile), (nameof(o.ClientCertificateFile), o.ClientCertificateFile), (nameof(o.ClientKeyFile), o.ClientKeyFile) })
        {
            if (file is not null && !File.Exists(file))
            {
                problems.Add($"{P}{setting}: no file at '{file}'.");
            }
        }

        // MQTT 5 carries the session expiry in seconds (a 32-bit count) and the keep-alive in 16 bits.
        Within(problems, P + nameof(o.SessionExpiry), o.SessionExpiry, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(uint.MaxValue - 1));
        Within(problems, P + nameof(o.KeepAlive), o.KeepAlive, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(ushort.MaxValue));
        Within(problems, P + nameof(o.ConnectTimeout), o.ConnectTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        Range(problems, P + nameof(o.MaxMessageBytes), o.MaxMessageBytes, 1_024, 268_435_455);
        Range(problems, P + nameof(o.ReceiveMaximum), o.ReceiveMaximum, 1, ushort.MaxValue);
        Range(problems, P + nameof(o.MaxDeliveryAttempts), o.MaxDeliveryAttempts, 1, 100);
        if (o.RepublishUnclaimedAfter is { } republish)
        {
            Within(problems, P + nameof(o.RepublishUnclaimedAfter), republish, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        }

        Within(problems, P + nameof(o.CloseTimeout), o.CloseTimeout, TimeSpan.Zero, TimeSpan.FromMinutes(10));
        if (o.DeadLetterTopic is not null)
        {
            if (o.DeadLetterTopic.Length is 0 or > 1_000 || o.DeadLetterTopic.AsSpan().IndexOfAny("+#") >= 0 || o.DeadLetterTopic.StartsWith('$'))
            {
                problems.Add($"{P}{nameof(o.DeadLetterTopic)} must be a topic name of 1-1000 characters without '+' or '#', not starting with '$' (got '{o.DeadLetterTopic}').");
            }
        }

        return problems;
    }

    /// <summary>Splits <c>host[:port]</c>; the port defaults to 1883, or 8883 over TLS.</summary>
    internal static bool TrySplitServer(string? server, bool tls, out string host, out int port)
    {
        host = string.Empty;
        port = tls ? 8883 : 1883;
        if (string.IsNullOrWhiteSpace(server) || server.Contains(' ', StringComparison.Ordinal))
        {
            return false;
        }

        var colon = server.LastIndexOf(':');
        if (colon < 0 || server.StartsWith('[') && server.EndsWith(']'))
        {
            host = server;
            return true;
        }

        host = server[..colon];
        return host.Length > 0 && int.TryParse(server.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65_535;
    }

    private static void CheckTopicPart(List<string> problems, string setting, string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 200 || value.AsSpan().IndexOfAny("/+#") >= 0 || value.StartsWith('$'))
        {
            problems.Add($"{setting} must be 1-200 characters without '/', '+' or '#', not starting with '$' (it becomes part of a topic; got '{value}').");
        }
    }

    private static void CheckPattern(List<string> problems, string setting, string? pattern, string[] required)
    {
        if (string.IsNullOrWhiteSpace(pattern) || pattern.Length > 1_000 || pattern.AsSpan().IndexOfAny("+#") >= 0 || pattern.StartsWith('$'))
        {
            problems.Add($"{setting} must be a topic name of 1-1000 characters without '+' or '#', not starting with '$' (got '{pattern}').");
            return;
        }

        foreach (var placeholder in required)
        {
            if (!pattern.Contains(placeholder, StringComparison.Ordinal))
            {
                problems.Add($"{setting} must contain {placeholder} (got '{pattern}').");
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

    private static void Within(List<string> problems, string setting, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            problems.Add($"{setting} must be between {min} and {max} (got {value}).");
        }
    }
}
