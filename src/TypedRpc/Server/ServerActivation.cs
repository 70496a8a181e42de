using System;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace TypedRpc.Server;

/// <summary>How <c>AddServer</c> makes a server class it creates per request: whether that takes services, and a check at start that it can.</summary>
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

        // With several constructors ActivatorUtilities picks among them by what it can resolve, request by request.
        if (SingleConstructor(type) is not { } constructor)
        {
            return;
        }

        foreach (var parameter in constructor.GetParameters())
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

    /// <summary>Whether making <paramref name="type"/> may take services: unless its only constructor takes nothing.</summary>
    public static bool NeedsServices([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] Type type) =>
        SingleConstructor(type) is not { } constructor || constructor.GetParameters().Length > 0;

    private static ConstructorInfo? SingleConstructor([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] Type type) =>
        type.GetConstructors() is [{ } only] ? only : null;
}
