using System;
using System.Collections.Generic;
using Microsoft.Extensions.Options;

namespace TypedRpc.AspNetCore;

/// <summary>Checks <see cref="RpcHttpOptions"/> on start; each message names its setting.</summary>
internal sealed class RpcHttpOptionsValidator : IValidateOptions<RpcHttpOptions>
{
    public ValidateOptionsResult Validate(string? name, RpcHttpOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.ResultsPath) || options.ResultsPath[0] != '/' || options.ResultsPath.EndsWith('/')
            || options.ResultsPath.AsSpan().IndexOfAny("{}?#") >= 0)
        {
            failures.Add($"TypedRpc:Http:ResultsPath must start with '/', not end with '/', and contain no '{{', '}}', '?' or '#' (got '{options.ResultsPath}').");
        }

        if (options.MaxWait < TimeSpan.Zero || options.MaxWait > TimeSpan.FromHours(1))
        {
            failures.Add($"TypedRpc:Http:MaxWait must be between 0 and 1 hour (got {options.MaxWait}).");
        }

        if (options.DefaultWait is { } wait && (wait < TimeSpan.Zero || wait > options.MaxWait))
        {
            failures.Add($"TypedRpc:Http:DefaultWait must be between 0 and TypedRpc:Http:MaxWait (got {wait}).");
        }

        if (options.RetryAfter < TimeSpan.FromSeconds(1) || options.RetryAfter > TimeSpan.FromHours(1))
        {
            failures.Add($"TypedRpc:Http:RetryAfter must be between 1 second and 1 hour (got {options.RetryAfter}).");
        }

        if (options.ResultSigningKey is { } key && !ResultHandles.TryDecodeKey(key, out _))
        {
            failures.Add("TypedRpc:Http:ResultSigningKey must be base64 of at least 32 bytes.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
