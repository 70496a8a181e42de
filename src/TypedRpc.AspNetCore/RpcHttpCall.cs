using System;
using System.Globalization;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace TypedRpc.AspNetCore;

/// <summary>
/// What an HTTP request asks of the call it starts: its <c>Prefer</c> (respond-async, wait=N)
/// and <c>Idempotency-Key</c> headers, as <see cref="RpcCallOptions"/>. Take it as a parameter of a
/// minimal-API handler and pass <see cref="Options"/> to the proxy:
/// <code>
/// app.MapPost("/orders/{id}", (string id, Order order, IPricingService pricing, RpcHttpCall call) =&gt;
///     pricing.PlaceOrderAsync(id, order.Amount, call.Options)).WithRpcResults();
/// </code>
/// </summary>
public sealed class RpcHttpCall
{
    private static readonly object ItemKey = new();
    private readonly RpcCallOptions _options;

    private RpcHttpCall(RpcCallOptions options, string? idempotencyKey, TimeSpan wait, bool respondAsync, bool waitApplied, string? error)
    {
        _options = options;
        IdempotencyKey = idempotencyKey;
        Wait = wait;
        RespondAsync = respondAsync;
        WaitApplied = waitApplied;
        Error = error;
    }

    /// <summary>
    /// The call options: the idempotency key, how long to wait (<see cref="RpcCallOptions.MaxWait"/>)
    /// and the request's abort token.
    /// </summary>
    /// <exception cref="BadHttpRequestException">The request's <c>Prefer</c> or <c>Idempotency-Key</c> header is malformed (400).</exception>
    public RpcCallOptions Options => Error is null ? _options : throw new BadHttpRequestException(Error, StatusCodes.Status400BadRequest);

    /// <summary>The request's <c>Idempotency-Key</c>, or <see langword="null"/>.</summary>
    public string? IdempotencyKey { get; }

    /// <summary>How long the call waits for its reply before answering 202 Accepted.</summary>
    public TimeSpan Wait { get; }

    /// <summary>Whether the caller asked for <c>Prefer: respond-async</c>.</summary>
    public bool RespondAsync { get; }

    internal bool WaitApplied { get; }

    internal string? Error { get; }

    /// <summary>Binds the parameter (minimal APIs call this).</summary>
    /// <param name="context">The request.</param>
    /// <returns>The call's options.</returns>
    public static ValueTask<RpcHttpCall?> BindAsync(HttpContext context) => new(From(context));

    /// <summary>The call options of a request (parsed once per request).</summary>
    /// <param name="context">The request.</param>
    /// <returns>The call's options; a malformed header shows in <see cref="Options"/> as 400.</returns>
    /// <exception cref="InvalidOperationException"><c>AddHttpEdge()</c> was not called.</exception>
    public static RpcHttpCall From(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items.TryGetValue(ItemKey, out var cached) && cached is RpcHttpCall call)
        {
            return call;
        }

        var options = context.RequestServices.GetService<IOptions<RpcHttpOptions>>()?.Value
            ?? throw new InvalidOperationException("The TypedRpc HTTP edge is not registered: call .AddHttpEdge() on the builder returned by AddTypedRpc().");
        call = Parse(context, options);
        context.Items[ItemKey] = call;
        return call;
    }

    private static RpcHttpCall Parse(HttpContext context, RpcHttpOptions settings)
    {
        if (!Preferences.TryParse(context.Request.Headers["Prefer"], out var preferences, out var error))
        {
            return Failed(error!);
        }

        string? key = null;
        var keys = context.Request.Headers["Idempotency-Key"];
        if (keys.Count > 1)
        {
            return Failed("Idempotency-Key is given more than once.");
        }

        if (keys.Count == 1)
        {
            // draft-ietf-httpapi-idempotency-key-header: a structured-field string ("…"); a bare
            // token is accepted too.
            key = keys[0]!.Trim();
            var quoted = key.Length >= 2 && key[0] == '"' && key[^1] == '"';
            if (quoted)
            {
                key = key[1..^1];
            }

            // Two header lines arrive joined by a comma, which is neither a token character nor
            // allowed unquoted — so a repeated header is refused here too.
            if (key.Length is 0 or > RpcCallOptions.MaxIdempotencyKeyLength || !(quoted ? IsQuotable(key) : IsToken(key)))
            {
                return Failed($"Idempotency-Key must be one quoted string or token of 1 to {RpcCallOptions.MaxIdempotencyKeyLength} printable ASCII characters.");
            }
        }

        // respond-async alone: answer once the request is out; with wait=N: wait up to N first (RFC 7240 §4.1, §4.3).
        var asked = preferences.Wait ?? (preferences.RespondAsync ? TimeSpan.Zero : settings.DefaultWait ?? settings.MaxWait);
        var wait = asked > settings.MaxWait ? settings.MaxWait : asked;
        var options = RpcCallOptions.Default.WithMaxWait(wait).WithCancellationToken(context.RequestAborted);
        if (key is not null)
        {
            options = options.WithIdempotencyKey(key);
        }

        return new RpcHttpCall(options, key, wait, preferences.RespondAsync, preferences.Wait is not null, null);

        static RpcHttpCall Failed(string error) => new(RpcCallOptions.Default, null, TimeSpan.Zero, false, false, error);
    }

    // RFC 9110 token characters.
    private static bool IsToken(string text)
    {
        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c)))
            {
                return false;
            }
        }

        return true;
    }

    // Printable ASCII without the quote and the backslash (no escapes in a key).
    private static bool IsQuotable(string text)
    {
        foreach (var c in text)
        {
            if (c is < (char)0x20 or > (char)0x7E or '"' or '\\')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The <c>Preference-Applied</c> value for the response, or <see langword="null"/>.</summary>
    /// <param name="accepted">Whether the response is 202 (respond-async is applied only then).</param>
    internal string? PreferenceApplied(bool accepted)
    {
        var wait = WaitApplied ? "wait=" + ((long)Wait.TotalSeconds).ToString(CultureInfo.InvariantCulture) : null;
        return (RespondAsync && accepted, wait) switch
        {
            (true, null) => "respond-async",
            (true, _) => "respond-async, " + wait,
            (false, _) => wait,
        };
    }
}
