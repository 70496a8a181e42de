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
                    // delta-seconds: 1*DIGIT. Negative or fractional values are refused rather than
                    // guessed at.
                    if (!TryParseDeltaSeconds(value, out var seconds))
                    {
                        error = $"Prefer: wait must be a whole number of seconds (got '{Truncate(value)}').";
                        return false;
                    }

                    if (wait is not null)
                    {
                        error = "Prefer: wait is given more than once.";
                        return false;
                    }

                    wait = seconds;
                }
            }
        }

        preferences = new Preferences(respondAsync, wait);
        return true;
    }

    /// <summary>
    /// Reads delta-seconds. A value too large to represent stands for "as long as possible"
    /// (<see cref="TimeSpan.MaxValue"/>), as RFC 9111 §1.2.2 has caches treat one: every caller
    /// cuts the wait to its maximum, so a wait of 10^20 seconds means the same as one of 100.
    /// </summary>
    private static bool TryParseDeltaSeconds(string? value, out TimeSpan seconds)
    {
        seconds = default;
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        // Nine digits fit an int, and far more seconds than any maximum wait.
        seconds = value.Length <= 9 ? TimeSpan.FromSeconds(int.Parse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture)) : TimeSpan.MaxValue;
        return true;
    }

    private static string Truncate(string? value) => value is null ? string.Empty : value.Length <= 20 ? value : value[..20] + "…";
}
