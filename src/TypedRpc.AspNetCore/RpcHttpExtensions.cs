using System;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TypedRpc.AspNetCore;

namespace TypedRpc;

/// <summary>The HTTP edge: registration, the results endpoint and the result filter for minimal APIs.</summary>
public static class RpcHttpExtensions
{
    /// <summary>
    /// Adds the HTTP edge: <see cref="RpcHttpCall"/> parameters, <c>WithRpcResults()</c> and
    /// <c>MapRpcResults()</c>. Options are validated on start, each problem naming its setting
    /// (<c>TypedRpc:Http:…</c>).
    /// </summary>
    /// <param name="builder">The builder from <c>AddTypedRpc()</c>.</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder AddHttpEdge(this ITypedRpcBuilder builder) => builder.AddHttpEdge(configure: null);

    /// <summary>Adds the HTTP edge as <see cref="AddHttpEdge(ITypedRpcBuilder)"/> does, configured in code.</summary>
    /// <param name="builder">The builder from <c>AddTypedRpc()</c>.</param>
    /// <param name="configure">Configures the edge, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder AddHttpEdge(this ITypedRpcBuilder builder, Action<RpcHttpOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<RpcHttpOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RpcHttpOptions>, RpcHttpOptionsValidator>());
        builder.Services.TryAddSingleton<ResultHandles>();
        builder.Services.AddProblemDetails();
        return builder;
    }

    /// <summary>Adds the HTTP edge with its settings bound from configuration — pass the <c>TypedRpc:Http</c> section.</summary>
    /// <param name="builder">The builder from <c>AddTypedRpc()</c>.</param>
    /// <param name="configuration">The <c>TypedRpc:Http</c> section.</param>
    /// <param name="configure">Further configuration (e.g. <see cref="RpcHttpOptions.ResultOwner"/>), or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static ITypedRpcBuilder AddHttpEdge(this ITypedRpcBuilder builder, Microsoft.Extensions.Configuration.IConfiguration configuration, Action<RpcHttpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<RpcHttpOptions>().Bind(configuration);
        return builder.AddHttpEdge(configure);
    }

    /// <summary>
    /// Turns what the endpoint's handler returns into HTTP: <see cref="RpcResult{T}"/> → 200 / 202 +
    /// Location / problem; <see cref="RpcException"/> → problem; a route, query or header value the
    /// endpoint cannot bind (<c>?amount=abc</c>), a malformed <c>Prefer</c> or <c>Idempotency-Key</c> →
    /// 400 problem naming it. Other values pass through.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint builder.</typeparam>
    /// <param name="builder">The endpoint (from <c>MapGet</c>, <c>MapPost</c>…) or a route group.</param>
    /// <returns>The builder.</returns>
    public static TBuilder WithRpcResults<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddEndpointFilter(new RpcResultsFilter());
    }

    /// <summary>Maps <c>GET {TypedRpc:Http:ResultsPath}/{handle}</c>, where 202 responses point.</summary>
    /// <param name="endpoints">The application.</param>
    /// <returns>The endpoint, for further conventions (authorization, rate limits…).</returns>
    public static RouteHandlerBuilder MapRpcResults(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var settings = endpoints.ServiceProvider.GetService<IOptions<RpcHttpOptions>>()?.Value
            ?? throw new InvalidOperationException("The TypedRpc HTTP edge is not registered: call .AddHttpEdge() on the builder returned by AddTypedRpc().");
        // A RequestDelegate, not a handler delegate: no RequestDelegateFactory (reflection, code
        // generation) at startup, so it is trimming and native AOT safe. The handler method is added
        // as metadata, as minimal APIs add it, so API descriptions (OpenAPI) still list the endpoint
        // and its {handle} parameter.
        var endpoint = endpoints.MapGet(settings.ResultsPath + "/{handle}", RpcResultsEndpoint.HandleAsync);
        return (endpoint as RouteHandlerBuilder ?? new RouteHandlerBuilder([endpoint]))
            .WithMetadata(RpcResultsEndpoint.HandlerMethod)
            .WithName("TypedRpcResult");
    }
}
