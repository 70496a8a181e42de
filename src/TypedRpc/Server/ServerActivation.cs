using System;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;

namespace TypedRpc.Server;

/// <summary>Checks, at start, that a server class <c>AddServer</c> creates per request can be created.</summary>
internal static class ServerActivation
{
    /// <summary>
    /// Throws when <paramref name="type"/> is left to <c>AddServer</c> to create (the application did
    /// not register it) and its constructor takes a service nobody registered. Without this check
    /// the mistake would surface only at the first request, as an Internal error for the caller.
    /// </summary>
    /// <param name="type">The server class.</param>
    /// <param name="services">The root service provider.</param>
    /// <exception cref="InvalidOperationException">A constructor parameter cannot be resolved; the message names it.</exception>
    public static void ThrowIfUnresolvable([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] Type type, IServiceProvider services)
    {
        if (services.GetService<IServiceProviderIsService>() is not { } isService || isService.IsService(type))
        {
            return;
        }

        var constructors = type.GetConstructors();
        if (constructors.Length != 1)
        {
            // ActivatorUtilities picks among several by what it can resolve, request by request.
            return;
        }

        foreach (var parameter in constructors[0].GetParameters())
        {
            if (parameter.HasDefaultValue
                || parameter.IsDefined(typeof(FromKeyedServicesAttribute), inherit: false)
                || isService.IsService(parameter.ParameterType))
            {
                continue;
            }

            throw new InvalidOperationException(
                $"{type.FullName} cannot serve requests: its constructor takes {parameter.ParameterType.FullName} ('{parameter.Name}'), "
                + "which is not registered in the service collection. Register it, or register the server class yourself with a factory.");
        }
    }
}
