using System;
using System.Threading.Tasks;
using TypedRpc.Transport;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// Client and server instances of one deployment over one transport and a real redis-server, each
/// its own service provider (as a separate process would be), with names unique to the deployment:
/// what the engine's shared behaviour tests need of a transport.
/// </summary>
public interface IDeployment : IAsyncDisposable
{
    /// <summary>The Redis namespace the instances share.</summary>
    string Namespace { get; }

    /// <summary>What the servers of this deployment did.</summary>
    IntegrationState State { get; }

    /// <summary>Starts an instance (a caller, a server, or both).</summary>
    Task<IServiceProvider> StartAsync(bool client, bool server, IUnmatchedReplyHandler? unmatched = null, string? instanceId = null, Action<TypedRpcOptions>? configure = null);

    /// <summary>Stops an instance gracefully (drain, release, close).</summary>
    Task StopAsync(IServiceProvider instance);

    /// <summary>Kills an instance's transport clients as a crash would, and forgets it.</summary>
    Task CrashAsync(IServiceProvider instance);

    /// <summary>Publishes a request of the integration contract straight through the broker's own client, bypassing the engine.</summary>
    Task SendRawRequestAsync(CorrelationId id, string method, RpcReplyAddress replyTo, long deadlineUnixMs, byte[] payload);
}
