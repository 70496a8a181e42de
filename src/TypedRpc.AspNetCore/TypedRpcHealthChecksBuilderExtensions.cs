using System;
using System.Collections.Generic;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using TypedRpc;
using TypedRpc.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds TypedRpc's readiness to ASP.NET Core health checks.</summary>
public static class TypedRpcHealthChecksBuilderExtensions
{
    /// <summary>The name the check is registered under unless another is given.</summary>
    public const string DefaultName = "typedrpc";

    /// <summary>
    /// Adds a check that reports <see cref="IRpcReadiness"/>: while TypedRpc on this instance is not
    /// ready — starting (a Kafka server group not assigned yet), or stopping — it reports
    /// <paramref name="failureStatus"/> with a description naming what is not ready (also in the
    /// result's data, under <c>notReady</c>); once ready, Healthy. Use it as a readiness probe, for
    /// example tagged <c>ready</c> and mapped with <c>MapHealthChecks</c> filtering on that tag.
    /// </summary>
    /// <param name="builder">The builder from <c>AddHealthChecks()</c>.</param>
    /// <param name="name">The check's name. Default <see cref="DefaultName"/>.</param>
    /// <param name="failureStatus">The status while not ready, or <see langword="null"/> for <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    /// <remarks>Needs <c>services.AddTypedRpc()</c>, which registers <see cref="IRpcReadiness"/>.</remarks>
    public static IHealthChecksBuilder AddTypedRpc(this IHealthChecksBuilder builder, string name = DefaultName, HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return builder.Add(new HealthCheckRegistration(name, static sp => new TypedRpcHealthCheck(
            sp.GetService<IRpcReadiness>() ?? throw new InvalidOperationException("The TypedRpc health check needs TypedRpc: call services.AddTypedRpc().")),
            failureStatus, tags));
    }
}
