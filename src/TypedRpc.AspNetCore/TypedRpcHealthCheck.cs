using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TypedRpc.AspNetCore;

/// <summary>Reports <see cref="IRpcReadiness"/>: healthy when ready; the registration's failure status, naming what is not ready, otherwise.</summary>
internal sealed class TypedRpcHealthCheck(IRpcReadiness readiness) : IHealthCheck
{
    /// <summary>The key of the result's data entry that lists what is not ready.</summary>
    public const string NotReadyKey = "notReady";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Read before IsReady: a list taken while not ready is never reported beside a Healthy status.
        var notReady = readiness.NotReady;
        if (readiness.IsReady)
        {
            return Task.FromResult(HealthCheckResult.Healthy("TypedRpc is ready."));
        }

        var description = notReady.Count == 0 ? "TypedRpc is not ready." : "TypedRpc is not ready: " + string.Join("; ", notReady) + ".";
        var data = new Dictionary<string, object> { [NotReadyKey] = notReady };
        return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, description, data: data));
    }
}
