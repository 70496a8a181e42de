using System.Diagnostics;

namespace TypedRpc.Diagnostics;

/// <summary>
/// The one <see cref="ActivitySource"/> of TypedRpc, named <c>TypedRpc</c>. A call is a Client span
/// on the caller and a Server span on the instance that runs it, joined through the W3C
/// <c>traceparent</c>/<c>tracestate</c> carried in the request.
/// </summary>
public static class RpcTracing
{
    /// <summary>The activity source's name.</summary>
    public const string SourceName = "TypedRpc";

    /// <summary>The activity source.</summary>
    public static readonly ActivitySource Source = new(SourceName, "1.0");

    internal static Activity? StartClient(RpcMethodDescriptor method, CorrelationId id)
    {
        var activity = Source.StartActivity(method.FullName, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "typedrpc");
            activity.SetTag("rpc.service", method.Service.ServiceName);
            activity.SetTag("rpc.method", method.Name);
            activity.SetTag("typedrpc.correlation_id", id.ToString());
        }

        return activity;
    }

    internal static Activity? StartServer(Transport.RpcRequest request, RpcMethodDescriptor method)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        ActivityContext parent = default;
        if (request.TraceParent is not null)
        {
            ActivityContext.TryParse(request.TraceParent, request.TraceState, isRemote: true, out parent);
        }

        var activity = Source.StartActivity(method.FullName, ActivityKind.Server, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "typedrpc");
            activity.SetTag("rpc.service", request.Service);
            activity.SetTag("rpc.method", request.Method);
            activity.SetTag("typedrpc.correlation_id", request.Id.ToString());
        }

        return activity;
    }

    internal static void End(Activity? activity, RpcStatusCode status)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("rpc.grpc.status_code", (int)status);
        activity.SetTag("typedrpc.status", status.ToString());
        if (status != RpcStatusCode.OK)
        {
            activity.SetStatus(ActivityStatusCode.Error, status.ToString());
        }

        activity.Stop();
    }
}
