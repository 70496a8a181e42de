using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using MQTTnet;
using TypedRpc.Transport;

namespace TypedRpc.Mqtt;

/// <summary>
/// One server instance's member of a contract's shared subscription, on a connection of its own
/// (so its window of unacknowledged requests never holds up the instance's replies). A request is
/// acknowledged when its handler's task completes; MQTTnet hands over one message at a time, so
/// each is handled on the thread pool while the next arrives.
/// </summary>
internal sealed class MqttRequestSubscription : IRpcRequestSubscription
{
    private readonly MqttRpcTransport _transport;
    private readonly RpcServiceDescriptor _service;
    private readonly RpcRequestHandler _handler;
    private readonly MqttTransportOptions _options;
    private readonly ILogger _logger;
    private readonly MqttConnection _connection;
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Requests delivered and not yet acknowledged: whoever removes one acknowledges it (its handler
    // when done, or the stop when it hands it over), so it is acknowledged once.
    private readonly ConcurrentDictionary<MqttApplicationMessageReceivedEventArgs, RpcRequest> _unacknowledged = new(ReferenceEqualityComparer.Instance);
    private int _handling;
    private int _disposed;
    private int _kept;
    private long _lastArrivalMs;

    public MqttRequestSubscription(MqttRpcTransport transport, RpcServiceDescriptor service, RpcRequestHandler handler, MqttTransportOptions options, string instanceId, ILogger logger)
    {
        _transport = transport;
        _service = service;
        _handler = handler;
        _options = options;
        _logger = logger;
        Filter = $"$share/{options.ServerGroupPrefix}{service.ServiceName}/{MqttTopics.RequestFilter(options, service)}";
        // One session per instance and contract: a restarted instance (same id) gets back what it held unacknowledged.
        _connection = new MqttConnection(options, instanceId + "/" + service.ServiceName, logger, OnMessageAsync);
    }

    /// <summary>The shared subscription's filter.</summary>
    public string Filter { get; }

    /// <inheritdoc />
    /// <remarks>Set when the broker granted the shared subscription: from then on this member gets its share.</remarks>
    public Task Assigned => _assigned.Task;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        await _connection.SubscribeAsync(Filter, cancellationToken).ConfigureAwait(false);
        _assigned.TrySetResult();
        Log.Serving(_logger, _service.ServiceName, Filter);
    }

    /// <summary>
    /// Stops taking requests, gives the running ones <see cref="MqttTransportOptions.CloseTimeout"/>,
    /// hands what is left to the other members (published again, then acknowledged here) and leaves,
    /// ending the session — unless a request could not be handed over: then the session stays, holding it.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _assigned.TrySetCanceled();
        try
        {
            await _connection.UnsubscribeAsync(Filter, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
        {
            // Disconnected: the broker stops sending when the connection closes.
        }

        var until = Environment.TickCount64 + (long)_options.CloseTimeout.TotalMilliseconds;
        while (Volatile.Read(ref _handling) > 0 && Environment.TickCount64 < until)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }

        var left = 0;
        foreach (var delivery in _unacknowledged.Keys)
        {
            if (_unacknowledged.TryRemove(delivery, out var request))
            {
                left++;
                await HandOverOrKeepAsync(delivery, request).ConfigureAwait(false);
            }
        }

        if (left > 0)
        {
            Log.HandedOver(_logger, _service.ServiceName, left, _options.CloseTimeout.TotalMilliseconds);
        }

        // Each acknowledgement frees a slot of this member's window, and the broker may send what it
        // had queued behind it: handed over as it comes (above), until 200 ms pass without any.
        var quietUntil = Environment.TickCount64 + (long)_options.ConnectTimeout.TotalMilliseconds;
        while (Environment.TickCount64 - Interlocked.Read(ref _lastArrivalMs) < 200 && Environment.TickCount64 < quietUntil)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }

        await _connection.CloseAsync(keepSession: Volatile.Read(ref _kept) == 1).ConfigureAwait(false);
    }

    /// <summary>Leaves after a start that failed: unsubscribed (when it got that far) and disconnected.</summary>
    public async Task CloseAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _assigned.TrySetCanceled();
        await _connection.CloseAsync(keepSession: false).ConfigureAwait(false);
    }

    /// <summary>Drops the connection as a crash would: nothing acknowledged or handed over, the session left holding it.</summary>
    public void Abandon()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _assigned.TrySetCanceled();
        _connection.Abandon();
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        e.AutoAcknowledge = false;
        var request = MqttMessages.DecodeRequest(e.ApplicationMessage, _options.MaxMessageBytes, out var reason);
        if (request is null)
        {
            // Without a correlation id or a reply topic nobody can be answered: park it and move on.
            return DeadLetterThenAcknowledgeAsync(e, reason!);
        }

        if (Volatile.Read(ref _disposed) == 1)
        {
            // Stopping: what the broker still sends (it had queued it behind this member's window)
            // goes to the other members at once. Published on the main connection, not this one.
            Interlocked.Exchange(ref _lastArrivalMs, Environment.TickCount64);
            return HandOverOrKeepAsync(e, request);
        }

        _unacknowledged[e] = request;
        Interlocked.Increment(ref _handling);
        ThreadPool.UnsafeQueueUserWorkItem(static s => _ = s.Item1.HandleAsync(s.Item2, s.Item3), (this, request, e), preferLocal: false);
        return Task.CompletedTask;
    }

    private async Task HandleAsync(RpcRequest request, MqttApplicationMessageReceivedEventArgs delivery)
    {
        var stopping = _connection.Stopping;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await _handler(request, stopping).ConfigureAwait(false);
                }
                catch (Exception ex) when (stopping.IsCancellationRequested || ex is RpcDeliveryAbandonedException)
                {
                    // Left unacknowledged for another member: the stop hands it over (MQTT never
                    // moves a member's unacknowledged message to another member by itself).
                    return;
                }
                catch (Exception ex) when (attempt < _options.MaxDeliveryAttempts)
                {
                    Log.DeliveryFailed(_logger, ex, request.Id, attempt, _options.MaxDeliveryAttempts);
                    await Task.Delay(100 * attempt * attempt, stopping).ConfigureAwait(false);
                    continue;
                }
                catch (Exception ex)
                {
                    Log.DeliveryFailed(_logger, ex, request.Id, attempt, _options.MaxDeliveryAttempts);
                    // Encoded again from the request: MQTTnet's message is not this task's to keep.
                    await _transport.DeadLetterAsync(MqttMessages.EncodeRequest(request, delivery.ApplicationMessage.Topic), "handling failed " + attempt + " times: " + ex.Message).ConfigureAwait(false);
                    await AcknowledgeOnceAsync(delivery).ConfigureAwait(false);
                    return;
                }

                // Handled: acknowledged once, outside the retries (an acknowledgement that cannot
                // go out is not a failed handling).
                await AcknowledgeOnceAsync(delivery).ConfigureAwait(false);
                return;
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping during a retry delay: left for the stop to hand over.
        }
        finally
        {
            Interlocked.Decrement(ref _handling);
        }
    }

    private Task AcknowledgeOnceAsync(MqttApplicationMessageReceivedEventArgs delivery) =>
        _unacknowledged.TryRemove(delivery, out _) ? AcknowledgeAsync(delivery) : Task.CompletedTask;

    private async Task DeadLetterThenAcknowledgeAsync(MqttApplicationMessageReceivedEventArgs delivery, string reason)
    {
        await _transport.DeadLetterAsync(delivery.ApplicationMessage, reason).ConfigureAwait(false);
        await AcknowledgeAsync(delivery).ConfigureAwait(false);
    }

    private static async Task AcknowledgeAsync(MqttApplicationMessageReceivedEventArgs delivery)
    {
        try
        {
            await delivery.AcknowledgeAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The connection dropped (MQTTnet throws a NullReferenceException then, as well as its
            // own): the broker sends it again (Dup) when this session reconnects, and the claim
            // answers it with what this run produced.
        }
    }

    /// <summary>Hands a request over; one that could not be is left unacknowledged, and the session kept to hold it.</summary>
    private async Task HandOverOrKeepAsync(MqttApplicationMessageReceivedEventArgs delivery, RpcRequest request)
    {
        if (!await HandOverAsync(delivery, request).ConfigureAwait(false))
        {
            Volatile.Write(ref _kept, 1);
        }
    }

    /// <summary>Publishes an unfinished request again for the other members, then acknowledges it here; <see langword="false"/> when that failed.</summary>
    private async Task<bool> HandOverAsync(MqttApplicationMessageReceivedEventArgs delivery, RpcRequest request)
    {
        try
        {
            var result = await _transport.PublishAsync(MqttRpcTransport.RequestMessage(request, delivery.ApplicationMessage.Topic), CancellationToken.None).ConfigureAwait(false);
            if (result.ReasonCode != MqttClientPublishReasonCode.Success)
            {
                // NoMatchingSubscribers: this was the last member (its own subscription is gone).
                Log.NotHandedOver(_logger, _service.ServiceName, request.Id, result.ReasonCode.ToString());
                return false;
            }
        }
        catch (Exception ex)
        {
            Log.NotHandedOver(_logger, _service.ServiceName, request.Id, ex.Message);
            return false;
        }

        await AcknowledgeAsync(delivery).ConfigureAwait(false);
        return true;
    }
}
