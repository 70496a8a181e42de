using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TypedRpc.Diagnostics;
using TypedRpc.Ownership;
using TypedRpc.Serialization;
using TypedRpc.Server;
using TypedRpc.Transport;

namespace TypedRpc.Hosting;

/// <summary>
/// Starts and stops TypedRpc with the host: the client first (so replies can be received before
/// any server answers), then each server; on stop, servers drain (bounded), then the client refuses
/// new calls and waits (bounded) for the replies of its waiting calls. Reports its start-up to
/// <see cref="IRpcReadiness"/>.
/// </summary>
public sealed class TypedRpcRuntime : IHostedService, IAsyncDisposable
{
    private readonly IServiceProvider _services;
    private readonly List<RpcServiceHost> _servers = new();
    private readonly RpcReadiness _readiness;
    private RpcClient? _client;
    private bool _started;
    private bool _stopped;

    /// <summary>Created by the container.</summary>
    /// <param name="services">The root service provider.</param>
    public TypedRpcRuntime(IServiceProvider services)
    {
        _services = services;
        _readiness = services.GetService<RpcReadiness>() ?? new RpcReadiness();
    }

    /// <summary>The contracts this instance serves.</summary>
    public IReadOnlyList<RpcServiceDescriptor> ServedContracts => _servers.Select(s => s.Descriptor).ToArray();

    /// <summary>
    /// Starts the client (when a contract is registered with <c>AddClient</c>): subscribes to its
    /// replies and prepares the transport to send to every client contract; then subscribes every
    /// server. Returns when all of that is done ("started"). A server is ready to serve only once
    /// the transport has assigned it its share of the requests, which for Kafka comes seconds later:
    /// <see cref="IRpcReadiness"/> says when, and with <see cref="TypedRpcOptions.WaitForReadinessOnStart"/>
    /// this waits for it too (at most <see cref="TypedRpcOptions.ReadinessTimeout"/>).
    /// </summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when started (and ready, if asked to wait).</returns>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_started)
        {
            return;
        }

        var logger = _services.GetService<ILogger<TypedRpcRuntime>>() ?? (ILogger)NullLogger.Instance;
        TypedRpcOptions options;
        try
        {
            options = _services.GetRequiredService<IOptions<TypedRpcOptions>>().Value;
            await StartCoreAsync(options, logger, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _readiness.StartFailed(ex);
            throw;
        }

        _started = true;
        if (options.WaitForReadinessOnStart)
        {
            try
            {
                await _readiness.WaitUntilReadyAsync(cancellationToken).WaitAsync(options.ReadinessTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.NotReadyInTime(logger, options.InstanceId, options.ReadinessTimeout, string.Join("; ", _readiness.NotReady));
            }
        }
    }

    private async Task StartCoreAsync(TypedRpcOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var transport = _services.GetService<IRpcTransport>() ?? throw Microsoft.Extensions.DependencyInjection.TypedRpcServiceCollectionExtensions.MissingTransport();
        var store = _services.GetService<IRpcOwnershipStore>();
        var claims = _services.GetService<IRpcClaimStore>();
        if ((store is null && options.EnableOwnership) || (claims is null && options.EnableClaims))
        {
            // Running without a store is allowed but must be a decision: say what is lost.
            logger.LogWarning("TypedRpc runs without an ownership store (IRpcOwnershipStore) or claim store (IRpcClaimStore): no forwarding of replies read by another instance, no stored results, no dedupe of redelivered requests. Register one (AddRedis, UseInMemoryOwnershipStore) or set TypedRpc:EnableOwnership and TypedRpc:EnableClaims to false.");
        }

        var registrations = _services.GetServices<RpcServerRegistration>().ToArray();
        var called = ClientContracts();
        _readiness.Starting(logger, options.InstanceId, called.Count > 0, registrations.Select(r => r.Descriptor).ToArray());

        // Before anything subscribes: a server class that cannot be created fails the start, not its first request.
        foreach (var registration in registrations)
        {
            registration.Validate(_services);
        }

        // And a contract type the serializer has no metadata for (a source-generated JSON context without it).
        SerializerCheck.ThrowIfMissingTypes(_services.GetRequiredService<IRpcSerializer>(), called.Concat(registrations.Select(r => r.Descriptor)));

        // Resolved now so that stopping never needs the container (it may be disposing by then).
        _client = _services.GetRequiredService<RpcClient>();
        _client.HostStarting();
        if (called.Count > 0)
        {
            await _client.StartAsync(cancellationToken).ConfigureAwait(false);

            // So that the first call costs what later ones do (Kafka: the topics' metadata).
            await transport.PrepareToSendAsync(called, cancellationToken).ConfigureAwait(false);
            _readiness.ClientReady();
        }

        if (registrations.Length > 0)
        {
            // So that the first request's reply costs what later ones do (Kafka: the producer's id).
            await transport.PrepareToReplyAsync(registrations.Select(r => r.Descriptor).ToArray(), cancellationToken).ConfigureAwait(false);
        }

        var hostLogger = _services.GetService<ILogger<RpcServiceHost>>() ?? (ILogger)NullLogger.Instance;
        var serializer = _services.GetRequiredService<IRpcSerializer>();
        foreach (var registration in registrations)
        {
            var host = new RpcServiceHost(registration, _services, transport, claims, serializer, options, hostLogger);
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            _servers.Add(host);
            _readiness.ServerSubscribed(host.Descriptor.ServiceName, host.Assigned);
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopped || !_started)
        {
            return;
        }

        _stopped = true;
        _readiness.Stopping();
        var stops = new List<Task>(_servers.Count);
        foreach (var server in _servers)
        {
            stops.Add(server.StopAsync(cancellationToken));
        }

        await Task.WhenAll(stops).ConfigureAwait(false);
        _servers.Clear();
        if (_client is not null)
        {
            await _client.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    /// <summary>The contracts registered with <c>AddClient</c>, each once.</summary>
    private List<RpcServiceDescriptor> ClientContracts()
    {
        var contracts = new List<RpcServiceDescriptor>();
        foreach (var registration in _services.GetServices<ClientRegistration>())
        {
            if (!contracts.Contains(registration.Descriptor))
            {
                contracts.Add(registration.Descriptor);
            }
        }

        return contracts;
    }
}
