using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace TypedRpc.AspNetCore;

/// <summary>
/// The endpoint filter of <c>WithRpcResults()</c>: answers arguments the endpoint could not bind and
/// malformed <c>Prefer</c>/<c>Idempotency-Key</c> headers with a 400 problem naming them, runs the
/// handler in an <see cref="RpcCallContext"/> scope of the request's options (so <c>Prefer</c> and
/// <c>Idempotency-Key</c> reach every call it makes, whether or not the method takes
/// <see cref="RpcCallOptions"/>), and turns the handler's <see cref="RpcResult{T}"/> or
/// <see cref="RpcException"/> into HTTP; any other return value passes through unchanged.
/// </summary>
internal sealed class RpcResultsFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (http.Response.StatusCode == StatusCodes.Status400BadRequest && !http.Response.HasStarted)
        {
            // The endpoint could not bind its arguments: minimal APIs still run the filters (not the
            // handler) and would answer an empty 400.
            return BindingFailure.Problem(http);
        }

        var call = RpcHttpCall.From(http);
        if (call.Error is { } error)
        {
            return Results.Problem(detail: error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid request header");
        }

        object? result;
        try
        {
            // The request's options also reach calls the handler makes through methods without an
            // RpcCallOptions parameter (a call's own options still win).
            using (RpcCallContext.With(call.Options))
            {
                result = await next(context).ConfigureAwait(false);
            }
        }
        catch (RpcException ex)
        {
            Applied(http, call, accepted: false);
            return RpcHttpResults.FromStatus(ex.Status, ex.CorrelationId, http);
        }

        Applied(http, call, accepted: result is IRpcResult { State: RpcResultState.Pending });
        return result is IRpcResult rpc ? RpcHttpResults.FromResult(rpc, http) : result;
    }

    private static void Applied(HttpContext http, RpcHttpCall call, bool accepted)
    {
        if (call.PreferenceApplied(accepted) is { } applied)
        {
            http.Response.Headers["Preference-Applied"] = applied;
        }
    }
}
