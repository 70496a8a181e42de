using System;
using System.Collections.Generic;
using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;

namespace TypedRpc.AspNetCore;

/// <summary>
/// The 400 problem for a request whose route, query or header values the endpoint could not bind
/// (<c>?amount=abc</c>). Minimal APIs answer such a request with an empty 400 and name the
/// parameter only in a Debug log (or in an exception, when <c>RouteHandlerOptions.ThrowOnBadRequest</c>
/// is set), but they still run the endpoint's filters. So the filter reads the same values again and
/// names each parameter whose value does not parse as its type, or that is required and missing.
/// </summary>
internal static class BindingFailure
{
    private const string RouteSource = "route value";
    private const string QuerySource = "query parameter";
    private const string HeaderSource = "header";

    public static IResult Problem(HttpContext http)
    {
        var endpoint = http.GetEndpoint();
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (endpoint?.Metadata.GetMetadata<MethodInfo>() is { } handler)
        {
            foreach (var parameter in handler.GetParameters())
            {
                if (Check(parameter, http, endpoint as RouteEndpoint) is { } error)
                {
                    errors[error.Name] = [error.Message];
                }
            }
        }

        if (errors.Count == 0)
        {
            // A body that is not valid JSON, say: nothing here can tell which parameter it was.
            return Results.Problem(detail: "The request could not be bound to the endpoint's parameters.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid request");
        }

        var detail = new List<string>(errors.Count);
        foreach (var messages in errors.Values)
        {
            detail.AddRange(messages);
        }

        return Results.ValidationProblem(errors, detail: string.Join(" ", detail), title: "Invalid request");
    }

    private static (string Name, string Message)? Check(ParameterInfo parameter, HttpContext http, RouteEndpoint? endpoint)
    {
        var name = parameter.Name ?? string.Empty;
        string? source = null;
        foreach (var attribute in parameter.GetCustomAttributes(inherit: true))
        {
            switch (attribute)
            {
                case IFromRouteMetadata route:
                    (source, name) = (RouteSource, route.Name ?? name);
                    break;
                case IFromQueryMetadata query:
                    (source, name) = (QuerySource, query.Name ?? name);
                    break;
                case IFromHeaderMetadata header:
                    (source, name) = (HeaderSource, header.Name ?? name);
                    break;
                case IFromBodyMetadata or IFromFormMetadata or IFromServiceMetadata or AsParametersAttribute:
                    return null;
            }
        }

        var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        if (type != typeof(string) && !type.IsEnum && TryParseMethod(type) is null)
        {
            // Services, HttpContext, RpcHttpCall (BindAsync), arrays, bodies: not bound from one string.
            return null;
        }

        source ??= endpoint?.RoutePattern.GetParameter(name) is not null ? RouteSource : QuerySource;
        var value = source switch
        {
            RouteSource => http.Request.RouteValues.TryGetValue(name, out var routeValue) ? Convert.ToString(routeValue, CultureInfo.InvariantCulture) : null,
            QuerySource => http.Request.Query.TryGetValue(name, out var queryValues) ? queryValues.ToString() : null,
            _ => http.Request.Headers.TryGetValue(name, out var headerValues) ? headerValues.ToString() : null,
        };

        if (string.IsNullOrEmpty(value) && (type != typeof(string) || value is null))
        {
            return IsOptional(parameter) ? null : (name, $"The {source} '{name}' is required.");
        }

        return type == typeof(string) || Parses(type, value!) ? null : (name, $"The {source} '{name}' is not a valid {type.Name}.");
    }

    // What minimal APIs treat as optional: a nullable type (int?, string?) or a default value.
    private static bool IsOptional(ParameterInfo parameter) =>
        parameter.HasDefaultValue || new NullabilityInfoContext().Create(parameter).ReadState != NullabilityState.NotNull;

    // The TryParse minimal APIs bind such a parameter with (the invariant culture when it takes one).
    private static MethodInfo? TryParseMethod(Type type) =>
        type.GetMethod("TryParse", BindingFlags.Public | BindingFlags.Static, [typeof(string), typeof(IFormatProvider), type.MakeByRefType()])
        ?? type.GetMethod("TryParse", BindingFlags.Public | BindingFlags.Static, [typeof(string), type.MakeByRefType()]);

    private static bool Parses(Type type, string value)
    {
        if (type.IsEnum)
        {
            return Enum.TryParse(type, value, ignoreCase: false, out _);
        }

        var method = TryParseMethod(type)!;
        object?[] arguments = method.GetParameters().Length == 3 ? [value, CultureInfo.InvariantCulture, null] : [value, null];
        return method.Invoke(null, arguments) is true;
    }
}
