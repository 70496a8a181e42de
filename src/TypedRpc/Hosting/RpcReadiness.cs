using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TypedRpc.Diagnostics;

namespace TypedRpc.Hosting;

/// <summary>
/// The <see cref="IRpcReadiness"/> that <see cref="TypedRpcRuntime"/> reports its start-up to:
/// every step is listed when the start begins and crossed off as it completes, so readiness
/// cannot be reached before every server is even subscribed.
/// </summary>
internal sealed class RpcReadiness : IRpcReadiness
{
    private const string ClientKey = "client";

    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // What start-up still waits for, in start order: (key, description).
    private readonly List<KeyValuePair<string, string>> _waiting = new();
    private string? _notRunning = "TypedRpc has not started";
    private ILogger _logger = NullLogger.Instance;
    private string _instanceId = string.Empty;
    private long _startedAt;
    private volatile bool _stopping;

    /// <inheritdoc />
    public bool IsReady => _ready.Task.IsCompletedSuccessfully && !_stopping;

    /// <inheritdoc />
    public IReadOnlyList<string> NotReady
    {
        get
        {
            lock (_lock)
            {
                if (_stopping)
                {
                    return new[] { "TypedRpc is stopping" };
                }

                if (_notRunning is not null)
                {
                    return new[] { _notRunning };
                }

                var notReady = new string[_waiting.Count];
                for (var i = 0; i < notReady.Length; i++)
                {
                    notReady[i] = _waiting[i].Value;
                }

                return notReady;
            }
        }
    }

    /// <inheritdoc />
    public Task WaitUntilReadyAsync(CancellationToken cancellationToken = default) => _ready.Task.WaitAsync(cancellationToken);

    /// <summary>The start begins: lists every step it will take.</summary>
    public void Starting(ILogger logger, string instanceId, bool client, IReadOnlyList<RpcServiceDescriptor> served)
    {
        lock (_lock)
        {
            _logger = logger;
            _instanceId = instanceId;
            _startedAt = Stopwatch.GetTimestamp();
            _notRunning = null;
            if (client)
            {
                _waiting.Add(new(ClientKey, "client: subscribing to its replies and preparing to send to its contracts"));
            }

            foreach (var service in served)
            {
                _waiting.Add(new(ServerKey(service.ServiceName), $"server '{service.ServiceName}': not subscribed yet"));
            }
        }

        CompleteIfDone();
    }

    /// <summary>The client receives replies and the transport is prepared to send.</summary>
    public void ClientReady() => Remove(ClientKey);

    /// <summary>A server subscribed; it is ready when <paramref name="assigned"/> completes.</summary>
    public void ServerSubscribed(string service, Task assigned)
    {
        if (assigned.IsCompletedSuccessfully)
        {
            Remove(ServerKey(service));
            return;
        }

        Describe(ServerKey(service), $"server '{service}': waiting for its share of the requests (partition assignment)");
        _ = WhenAssignedAsync(service, assigned);
    }

    /// <summary>The start failed: waiters fail too, and <see cref="NotReady"/> says why.</summary>
    public void StartFailed(Exception exception)
    {
        lock (_lock)
        {
            _notRunning = "TypedRpc failed to start: " + exception.Message;
        }

        Fail(new InvalidOperationException("TypedRpc failed to start: " + exception.Message, exception));
    }

    /// <summary>The host is stopping: not ready from now on; waiters fail if start-up never completed.</summary>
    public void Stopping()
    {
        _stopping = true;
        Fail(new InvalidOperationException("TypedRpc stopped before it was ready."));
    }

    private static string ServerKey(string service) => "server:" + service;

    private async Task WhenAssignedAsync(string service, Task assigned)
    {
        try
        {
            await assigned.ConfigureAwait(false);
            Remove(ServerKey(service));
        }
        catch (Exception ex)
        {
            // The subscription ended (stopped, or its consumer failed) before it was assigned: this
            // server never becomes ready, and says so.
            Describe(ServerKey(service), $"server '{service}': its subscription ended before it was assigned requests ({ex.Message})");
        }
    }

    private void Describe(string key, string description)
    {
        lock (_lock)
        {
            var index = _waiting.FindIndex(w => w.Key == key);
            if (index >= 0)
            {
                _waiting[index] = new(key, description);
            }
        }
    }

    private void Remove(string key)
    {
        lock (_lock)
        {
            _waiting.RemoveAll(w => w.Key == key);
        }

        CompleteIfDone();
    }

    private void CompleteIfDone()
    {
        lock (_lock)
        {
            if (_waiting.Count > 0 || _notRunning is not null || _stopping || !_ready.TrySetResult())
            {
                return;
            }
        }

        Log.Ready(_logger, _instanceId, Stopwatch.GetElapsedTime(_startedAt).TotalMilliseconds);
    }

    private void Fail(Exception exception)
    {
        if (_ready.TrySetException(exception))
        {
            // Nobody may be waiting: observed here, so it is never reported as unobserved.
            _ = _ready.Task.Exception;
        }
    }
}
