using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using MQTTnet;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.Mqtt;

/// <summary>
/// The requests this caller instance sent that no reply has answered yet. Every
/// <see cref="MqttTransportOptions.RepublishUnclaimedAfter"/> each one is looked up in the claim
/// store; one that no server is running — queued for a server instance that went away, held by one
/// that died (its claim expired), or completed with a reply that was lost — is published again, so
/// that a live member of the shared subscription takes it. The claims keep it to one run, and a
/// completed one is answered with its stored replies. The interval stays the same: a copy that lands
/// on the dead member again (one in N) must not wait longer each time; a request merely queued behind
/// a busy member is copied once an interval, and the copy's claim check is cheap for the servers.
/// </summary>
internal sealed class UnclaimedRequests : IAsyncDisposable
{
    private const int ParallelChecks = 32;
    private readonly ConcurrentDictionary<CorrelationId, Sent> _sent = new();
    private readonly IRpcClaimStore _claims;
    private readonly Func<RpcRequest, string, CancellationToken, Task> _publish;
    private readonly long _afterMs;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <param name="claims">Where the servers' claims are.</param>
    /// <param name="publish">Publishes a request again to its topic.</param>
    /// <param name="after">How long a request may go unclaimed.</param>
    /// <param name="logger">The logger.</param>
    public UnclaimedRequests(IRpcClaimStore claims, Func<RpcRequest, string, CancellationToken, Task> publish, TimeSpan after, ILogger logger)
    {
        _claims = claims;
        _publish = publish;
        _afterMs = (long)after.TotalMilliseconds;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Requests waiting for their first reply (for tests).</summary>
    public int Count => _sent.Count;

    /// <summary>Follows a request from before it is published.</summary>
    public void Track(RpcRequest request, string topic) => _sent[request.Id] = new Sent(request, topic, Environment.TickCount64 + _afterMs);

    /// <summary>Stops following a request: it was answered, or could not be sent.</summary>
    public void Forget(CorrelationId id) => _sent.TryRemove(id, out _);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        _sent.Clear();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Clamp(_afterMs / 4, 25, 1_000)));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var now = Environment.TickCount64;
                var nowUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var due = new List<Sent>();
                foreach (var (id, sent) in _sent)
                {
                    if (sent.Request.DeadlineUnixMs <= nowUnixMs)
                    {
                        // Past its deadline a server would not run it: nothing left to do for it.
                        _sent.TryRemove(new KeyValuePair<CorrelationId, Sent>(id, sent));
                    }
                    else if (sent.NextCheckMs <= now)
                    {
                        sent.NextCheckMs = now + _afterMs;
                        due.Add(sent);
                    }
                }

                if (due.Count > 0)
                {
                    await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = ParallelChecks, CancellationToken = _stop.Token }, CheckAsync).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private async ValueTask CheckAsync(Sent sent, CancellationToken cancellationToken)
    {
        var id = sent.Request.Id;
        bool? running;
        try
        {
            running = await _claims.IsRunningAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.ClaimLookupFailed(_logger, id, ex.Message);
            return;
        }

        if (running is null)
        {
            // A store that cannot tell: nothing to go by, so nothing is published again.
            Forget(id);
            return;
        }

        if (running.Value || !_sent.ContainsKey(id))
        {
            return;
        }

        sent.Republished++;
        Log.Republished(_logger, id, sent.Topic, _afterMs, sent.Republished);
        Log.RepublishedCounter.Add(1);
        try
        {
            await _publish(sent.Request, sent.Topic, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.RepublishFailed(_logger, id, ex.Message);
        }
    }

    private sealed class Sent(RpcRequest request, string topic, long nextCheckMs)
    {
        public RpcRequest Request { get; } = request;

        public string Topic { get; } = topic;

        public long NextCheckMs { get; set; } = nextCheckMs;

        public int Republished { get; set; }
    }
}
