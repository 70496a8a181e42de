using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Numerics;
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
        if (type != typeof(string) && !type.IsEnum && !HasTryParse(type))
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

    // Whether minimal APIs bind the type from one string with a static TryParse.
    private static bool HasTryParse(Type type) => Parsers.ContainsKey(type) || TryParseMethod(type) is not null;

    private static bool Parses(Type type, string value)
    {
        if (type.IsEnum)
        {
            return Enum.TryParse(type, value, ignoreCase: false, out _);
        }

        if (Parsers.TryGetValue(type, out var parse))
        {
            return parse(value);
        }

        var method = TryParseMethod(type)!;
        object?[] arguments = method.GetParameters().Length == 3 ? [value, CultureInfo.InvariantCulture, null] : [value, null];
        return method.Invoke(null, arguments) is true;
    }

    // The TryParse minimal APIs bind such a parameter with (the invariant culture when it takes one),
    // called directly for the framework's types: each is the overload the reflection below would find
    // - (string, IFormatProvider, out T) where the type has it, else (string, out T).
    private static readonly Dictionary<Type, Func<string, bool>> Parsers = new()
    {
        [typeof(bool)] = static s => bool.TryParse(s, out _),
        [typeof(char)] = static s => char.TryParse(s, out _),
        [typeof(byte)] = static s => byte.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(sbyte)] = static s => sbyte.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(short)] = static s => short.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(ushort)] = static s => ushort.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(int)] = static s => int.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(uint)] = static s => uint.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(long)] = static s => long.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(ulong)] = static s => ulong.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(nint)] = static s => nint.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(nuint)] = static s => nuint.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(Int128)] = static s => Int128.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(UInt128)] = static s => UInt128.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(BigInteger)] = static s => BigInteger.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(Half)] = static s => Half.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(float)] = static s => float.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(double)] = static s => double.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(decimal)] = static s => decimal.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(Complex)] = static s => Complex.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(Guid)] = static s => Guid.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(DateTime)] = static s => DateTime.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(DateTimeOffset)] = static s => DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(DateOnly)] = static s => DateOnly.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(TimeOnly)] = static s => TimeOnly.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(TimeSpan)] = static s => TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out _),
        [typeof(Version)] = static s => Version.TryParse(s, out _),
        [typeof(IPAddress)] = static s => IPAddress.TryParse(s, out _),
        [typeof(IPEndPoint)] = static s => IPEndPoint.TryParse(s, out _),
    };

    // Any other type (an application's own IParsable type): its TryParse found by reflection. A
    // trimmed or native AOT application may not keep that method's metadata; the parameter is then
    // not named, and the request gets the generic 400 problem - never an exception.
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Best effort for application types: a TryParse the trimmer removed is not found, and the generic 400 problem is answered.")]
    private static MethodInfo? TryParseMethod(Type type) =>
        type.GetMethod("TryParse", BindingFlags.Public | BindingFlags.Static, [typeof(string), typeof(IFormatProvider), type.MakeByRefType()])
        ?? type.GetMethod("TryParse", BindingFlags.Public | BindingFlags.Static, [typeof(string), type.MakeByRefType()]);
}
