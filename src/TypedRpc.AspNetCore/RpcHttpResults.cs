using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading.Tasks;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace TypedRpc.AspNetCore;

/// <summary>
/// Turns TypedRpc outcomes into HTTP: a completed result is 200 with its JSON; Pending is 202
/// Accepted with <c>Location</c> (a signed result handle) and <c>Retry-After</c>; a status is an
/// RFC 9457 problem with the HTTP code of <see cref="ToHttpStatus"/> — except an idempotency key
/// reused for a different request (<see cref="RpcIdempotency.IsKeyReused"/>), which is 422.
/// </summary>
public static class RpcHttpResults
{
    /// <summary>The HTTP status code of an RPC status (the gRPC-to-HTTP mapping; Cancelled is 499).</summary>
    /// <param name="code">The RPC status code.</param>
    /// <returns>The HTTP status code.</returns>
    public static int ToHttpStatus(RpcStatusCode code) => code switch
    {
        RpcStatusCode.OK => StatusCodes.Status200OK,
        RpcStatusCode.Cancelled => StatusCodes.Status499ClientClosedRequest,
        RpcStatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
        RpcStatusCode.FailedPrecondition => StatusCodes.Status400BadRequest,
        RpcStatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        RpcStatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        RpcStatusCode.NotFound => StatusCodes.Status404NotFound,
        RpcStatusCode.AlreadyExists => StatusCodes.Status409Conflict,
        RpcStatusCode.Aborted => StatusCodes.Status409Conflict,
        RpcStatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        RpcStatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        RpcStatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        RpcStatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        RpcStatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError, // Unknown, Internal, DataLoss
    };

    /// <summary>The response for a result: 200, 202 + Location, or a problem.</summary>
    /// <param name="result">Any <see cref="RpcResult{T}"/>.</param>
    /// <param name="context">The request.</param>
    /// <returns>The HTTP result.</returns>
    public static IResult FromResult(IRpcResult result, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(context);
        return result.State switch
        {
            RpcResultState.Completed => Ok(result.Value, result.ValueType),
            RpcResultState.Pending => Accepted(result.CorrelationId!, context),
            _ => FromStatus(result.Status, result.CorrelationId, context),
        };
    }

    /// <summary>The problem response for a status (an <see cref="RpcException"/>, a failed result).</summary>
    /// <param name="status">The status; not OK.</param>
    /// <param name="correlationId">The call's id, when known: a DeadlineExceeded problem then points at the result that may still come.</param>
    /// <param name="context">The request.</param>
    /// <returns>The HTTP result.</returns>
    public static IResult FromStatus(RpcStatus status, string? correlationId, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var settings = Settings(context);
        var code = status.StatusCode;
        var detail = settings.IncludeInternalDetails || IsApplicationStatus(code) ? status.Detail : GenericDetail(code);
        var extensions = new Dictionary<string, object?> { ["rpcStatus"] = code.ToString() };
        if (code == RpcStatusCode.DeadlineExceeded && correlationId is not null)
        {
            // The work goes on until its deadline and its result is stored: say where it will be.
            extensions["resultLocation"] = Location(correlationId, context);
        }

        if (RpcIdempotency.IsKeyReused(status))
        {
            // The Idempotency-Key draft (IETF httpapi): a key reused with a different payload is 422.
            return Results.Problem(detail: status.Detail, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency key reused", extensions: extensions);
        }

        return Results.Problem(detail: detail, statusCode: ToHttpStatus(code), title: Title(code), extensions: extensions);
    }

    internal static IResult Ok(object? value, Type type)
    {
        if (value is JsonElement { ValueKind: JsonValueKind.Undefined } || (value is null && type == typeof(object)))
        {
            return Results.NoContent();
        }

        return Results.Json(value);
    }

    internal static IResult Accepted(string correlationId, HttpContext context)
    {
        var settings = Settings(context);
        var location = Location(correlationId, context);
        context.Response.Headers.RetryAfter = ((long)Math.Ceiling(settings.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return Results.Json(new PendingBody("Pending", location), statusCode: StatusCodes.Status202Accepted, contentType: null).WithLocation(location);
    }

    internal static string Location(string correlationId, HttpContext context)
    {
        var settings = Settings(context);
        var handles = context.RequestServices.GetRequiredService<ResultHandles>();
        return $"{context.Request.PathBase}{settings.ResultsPath}/{handles.Create(correlationId, settings.ResultOwner?.Invoke(context))}";
    }

    internal static RpcHttpOptions Settings(HttpContext context) =>
        context.RequestServices.GetService<IOptions<RpcHttpOptions>>()?.Value
        ?? throw new InvalidOperationException("The TypedRpc HTTP edge is not registered: call .AddHttpEdge() on the builder returned by AddTypedRpc().");

    // Statuses an application sets deliberately, with a message meant for its callers.
    private static bool IsApplicationStatus(RpcStatusCode code) => code is RpcStatusCode.InvalidArgument or RpcStatusCode.NotFound
        or RpcStatusCode.AlreadyExists or RpcStatusCode.PermissionDenied or RpcStatusCode.FailedPrecondition or RpcStatusCode.Aborted
        or RpcStatusCode.OutOfRange or RpcStatusCode.Unauthenticated or RpcStatusCode.ResourceExhausted or RpcStatusCode.Cancelled;

    private static string GenericDetail(RpcStatusCode code) => code switch
    {
        RpcStatusCode.DeadlineExceeded => "The call did not complete in time.",
        RpcStatusCode.Unavailable => "The service is unavailable; retry later.",
        RpcStatusCode.Unimplemented => "The operation is not implemented.",
        _ => "The call failed.",
    };

    private static string Title(RpcStatusCode code) => code switch
    {
        RpcStatusCode.DeadlineExceeded => "Deadline exceeded",
        RpcStatusCode.InvalidArgument => "Invalid argument",
        RpcStatusCode.NotFound => "Not found",
        RpcStatusCode.AlreadyExists => "Already exists",
        RpcStatusCode.PermissionDenied => "Permission denied",
        RpcStatusCode.ResourceExhausted => "Resource exhausted",
        RpcStatusCode.FailedPrecondition => "Failed precondition",
        RpcStatusCode.OutOfRange => "Out of range",
        RpcStatusCode.Unimplemented => "Not implemented",
        RpcStatusCode.Unavailable => "Unavailable",
        RpcStatusCode.Unauthenticated => "Unauthenticated",
        RpcStatusCode.Cancelled => "Cancelled",
        RpcStatusCode.Aborted => "Aborted",
        _ => "Internal error",
    };

    private sealed record PendingBody(string State, string Location);

    private static IResult WithLocation(this IResult result, string location) => new LocationResult(result, location);

    private sealed class LocationResult(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}
