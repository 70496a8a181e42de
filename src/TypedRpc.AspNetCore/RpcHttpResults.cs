using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Threading.Tasks;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TypedRpc.Serialization;

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

        return new PayloadResult(value);
    }

    internal static IResult Accepted(string correlationId, HttpContext context)
    {
        var settings = Settings(context);
        var location = Location(correlationId, context);
        context.Response.Headers.RetryAfter = ((long)Math.Ceiling(settings.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return Results.Json(new PendingBody("Pending", location), RpcHttpJsonContext.Default.PendingBody, contentType: null, statusCode: StatusCodes.Status202Accepted).WithLocation(location);
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

    private static IResult WithLocation(this IResult result, string location) => new LocationResult(result, location);

    // A completed result's value: 200 with its JSON, written by the application's IRpcSerializer (the
    // one that wrote and read it on the way here, so it knows the contract's types) as the value's
    // runtime type, as minimal APIs write an object. A null value is a 200 without a body.
    private sealed class PayloadResult(object? value) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            if (value is null)
            {
                return;
            }

            var serializer = httpContext.RequestServices.GetRequiredService<IRpcSerializer>();
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer, WriterOptions(serializer)))
            {
                if (value is JsonElement element)
                {
                    serializer.Serialize(writer, element);
                }
                else
                {
                    serializer.Serialize<object>(writer, value);
                }
            }

            var response = httpContext.Response;
            response.ContentType = "application/json; charset=utf-8";
            try
            {
                await response.BodyWriter.WriteAsync(buffer.WrittenMemory, httpContext.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (httpContext.RequestAborted.IsCancellationRequested)
            {
                // The client went away: nobody to answer (as minimal APIs do).
            }
        }

        // The writer settings of the serializer's options (indentation, encoder), as JsonSerializer
        // uses them when it writes to a stream.
        private static JsonWriterOptions WriterOptions(IRpcSerializer serializer) => serializer is JsonRpcSerializer { Options: var options }
            ? new JsonWriterOptions
            {
                Encoder = options.Encoder,
                Indented = options.WriteIndented,
                IndentCharacter = options.IndentCharacter,
                IndentSize = options.IndentSize,
                NewLine = options.NewLine,
                SkipValidation = true,
            }
            : new JsonWriterOptions { SkipValidation = true };
    }

    private sealed class LocationResult(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>The body of a 202 Accepted: <c>{"state":"Pending","location":"…"}</c>.</summary>
internal sealed record PendingBody(string State, string Location);

/// <summary>JSON metadata for the edge's own response bodies (web defaults: camelCase).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(PendingBody))]
internal sealed partial class RpcHttpJsonContext : JsonSerializerContext;
