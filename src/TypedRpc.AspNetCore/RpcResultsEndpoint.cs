using System;
using System.Reflection;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TypedRpc.Ownership;

namespace TypedRpc.AspNetCore;

/// <summary>
/// <c>GET {ResultsPath}/{handle}</c>: 200 with the stored result, 202 while the call is still
/// pending (its owner record lives), 404 when the handle is not genuine, not this caller's, or the
/// call is unknown or expired. <c>Prefer: wait=N</c> long-polls.
/// </summary>
internal static class RpcResultsEndpoint
{
    /// <summary>The handler's method, <see cref="GetAsync"/>: endpoint metadata for API descriptions.</summary>
    public static MethodInfo HandlerMethod { get; } = new Func<string, HttpContext, Task<IResult>>(GetAsync).Method;

    /// <summary>The endpoint: binds <c>{handle}</c> from the route and writes <see cref="GetAsync"/>'s result.</summary>
    /// <param name="http">The request.</param>
    /// <returns>The response written.</returns>
    public static async Task HandleAsync(HttpContext http)
    {
        // As minimal APIs bind a required string route value: a missing one is an empty 400.
        if (http.Request.RouteValues["handle"]?.ToString() is not { } handle)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        var result = await GetAsync(handle, http).ConfigureAwait(false);
        await result.ExecuteAsync(http).ConfigureAwait(false);
    }

    public static async Task<IResult> GetAsync(string handle, HttpContext http)
    {
        var settings = RpcHttpResults.Settings(http);
        var services = http.RequestServices;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger("TypedRpc.AspNetCore.RpcResults");
        if (!services.GetRequiredService<ResultHandles>().TryOpen(handle, settings.ResultOwner?.Invoke(http), out var id))
        {
            if (logger is not null)
            {
                HttpLog.HandleRefused(logger);
            }

            return NotFound();
        }

        if (!Preferences.TryParse(http.Request.Headers["Prefer"], out var preferences, out var error))
        {
            return Results.Problem(detail: error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid request header");
        }

        var results = services.GetRequiredService<IRpcResults>();
        var store = services.GetService<IRpcOwnershipStore>();
        try
        {
            var result = await results.GetAsync<JsonElement>(id, http.RequestAborted).ConfigureAwait(false);
            if (result.IsPending)
            {
                // Nothing stored: is the call still alive? Without an owner record it is unknown or
                // long gone — and waiting on it would only make it look alive again.
                // Bounded like every store operation of the engine (the store's own await may not be).
                var bound = services.GetService<Microsoft.Extensions.Options.IOptions<TypedRpcOptions>>()?.Value.StoreOperationTimeout ?? TimeSpan.FromSeconds(2);
                if (store is null || await store.GetOwnerAsync(CorrelationId.Parse(id), http.RequestAborted).AsTask().WaitAsync(bound, http.RequestAborted).ConfigureAwait(false) is null)
                {
                    return NotFound();
                }

                var wait = preferences.Wait is { } asked ? (asked > settings.MaxWait ? settings.MaxWait : asked) : TimeSpan.Zero;
                if (wait > TimeSpan.Zero)
                {
                    result = await results.WaitAsync<JsonElement>(id, wait, http.RequestAborted).ConfigureAwait(false);
                    http.Response.Headers["Preference-Applied"] = "wait=" + (long)wait.TotalSeconds;
                }
            }

            return RpcHttpResults.FromResult(result, http);
        }
        catch (RpcException ex)
        {
            if (logger is not null)
            {
                HttpLog.ResultReadFailed(logger, id, ex.Status.Detail);
            }

            return RpcHttpResults.FromStatus(ex.Status, null, http);
        }
        catch (TimeoutException ex)
        {
            if (logger is not null)
            {
                HttpLog.ResultReadFailed(logger, id, ex.Message);
            }

            return RpcHttpResults.FromStatus(new RpcStatus(RpcStatusCode.Unavailable, "The ownership store did not answer."), null, http);
        }
    }

    private static IResult NotFound() =>
        Results.Problem(detail: "No such result: unknown, expired, or not yours.", statusCode: StatusCodes.Status404NotFound, title: "Not found");
}
