using System;
using Microsoft.Extensions.Primitives;

namespace TypedRpc.AspNetCore;

/// <summary>The preferences of RFC 7240 the edge honours: <c>respond-async</c> and <c>wait=N</c>.</summary>
internal readonly record struct Preferences(bool RespondAsync, TimeSpan? Wait)
{
    private const int MaxPreferences = 32;

    /// <summary>Parses every <c>Prefer</c> header; unknown preferences are ignored (RFC 7240 §2), a malformed <c>wait</c> is an error.</summary>
    public static bool TryParse(StringValues headers, out Preferences preferences, out string? error)
    {
        preferences = default;
        error = null;
        var respondAsync = false;
        TimeSpan? wait = null;
        var count = 0;
        foreach (var header in headers)
        {
            if (header is null)
            {
                continue;
            }

            foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (++count > MaxPreferences)
                {
                    error = $"Too many preferences in Prefer (at most {MaxPreferences}).";
                    return false;
                }

                // A preference is token [ "=" word ] *( ";" parameter ); parameters are ignored.
                var semicolon = part.IndexOf(';');
                var preference = semicolon < 0 ? part : part[..semicolon].TrimEnd();
                var equals = preference.IndexOf('=');
                var name = (equals < 0 ? preference : preference[..equals]).Trim();
                var value = equals < 0 ? null : preference[(equals + 1)..].Trim().Trim('"');
                if (name.Equals("respond-async", StringComparison.OrdinalIgnoreCase))
                {
                    respondAsync = true;
                }
                else if (name.Equals("wait", StringComparison.OrdinalIgnoreCase))
                {
                    // delta-seconds: 1*DIGIT. Negative, fractional or absurd values are refused
                    // rather than guessed at.
                    if (value is null || value.Length is 0 or > 9 || !uint.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
                    {
                        error = $"Prefer: wait must be a whole number of seconds, 0 to 999999999 (got '{Truncate(value)}').";
                        return false;
                    }

                    if (wait is not null)
                    {
                        error = "Prefer: wait is given more than once.";
                        return false;
                    }

                    wait = TimeSpan.FromSeconds(seconds);
                }
            }
        }

        preferences = new Preferences(respondAsync, wait);
        return true;
    }

    private static string Truncate(string? value) => value is null ? string.Empty : value.Length <= 20 ? value : value[..20] + "…";
}
