using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using TypedRpc.Ownership;
using TypedRpc.Transport;

namespace TypedRpc.Mqtt;

/// <summary>
/// The MQTT 5 transport. Each instance has one connection that publishes its requests and replies
/// and receives its own replies (topic <see cref="MqttTransportOptions.ReplyTopic"/>, so a reply
/// goes straight to the waiting instance), and one connection per served contract whose shared
/// subscription gives each request to one server instance. Every connection keeps a persistent
/// session under a client id made from the instance id.
/// </summary>
public sealed class MqttRpcTransport : IRpcTransport, IAsyncDisposable
{
    /// <summary>The user property carrying why a message was dead-lettered.</summary>
    public const string DeadLetterReasonProperty = "trpc-dead-letter-reason";

    private readonly MqttTransportOptions _options;
    private readonly string _instanceId;
    private readonly ILogger _logger;
    private readonly MqttConnection _main;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly List<MqttRequestSubscription> _servers = new();
    private readonly UnclaimedRequests? _unclaimed;
    private volatile bool _mainConnected;
    private volatile RpcReplyHandler? _replies;
    private int _disposed;

    /// <summary>Creates the transport; it connects when first needed.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="instanceId">This instance's id (<c>TypedRpc:InstanceId</c>): its client ids and reply topic are made from it.</param>
    /// <param name="logger">The logger, or <see langword="null"/>.</param>
    /// <param name="claims">
    /// Where the servers' claims are, for publishing again a request no server claimed
    /// (<see cref="MqttTransportOptions.RepublishUnclaimedAfter"/>); <see langword="null"/> for none.
    /// </param>
    /// <exception cref="ArgumentException">A setting is invalid (the message names it), or the instance id cannot be part of a topic.</exception>
    public MqttRpcTransport(MqttTransportOptions options, string instanceId, ILogger<MqttRpcTransport>? logger = null, IRpcClaimStore? claims = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var problems = MqttTransportOptionsValidator.Problems(options);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _options = options;
        _instanceId = instanceId;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        ReplyTopic = MqttTopics.Reply(options, instanceId);
        _main = new MqttConnection(options, instanceId, _logger, OnReplyMessageAsync);
        if (claims is not null && options.RepublishUnclaimedAfter is { } after)
        {
            _unclaimed = new UnclaimedRequests(claims, PublishRequestAsync, after, _logger);
        }
    }

    /// <summary>The settings in use.</summary>
    public MqttTransportOptions Options => _options;

    /// <summary>This instance's reply topic.</summary>
    public string ReplyTopic { get; }

    /// <inheritdoc />
    public async ValueTask SendRequestAsync(RpcServiceDescriptor service, RpcRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(request);
        var topic = MqttTopics.Request(_options, service, request.Method);
        var message = RequestMessage(request, topic);
        CheckSize(message, "request", request.Id);
        var connection = await MainAsync(cancellationToken).ConfigureAwait(false);
        // Followed from before the publish, so a reply that comes back at once is not missed.
        _unclaimed?.Track(request, topic);
        MqttClientPublishResult result;
        try
        {
            result = await connection.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _unclaimed?.Forget(request.Id);
            throw;
        }

        if (result.ReasonCode != MqttClientPublishReasonCode.Success)
        {
            _unclaimed?.Forget(request.Id);
        }

        if (result.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.Unavailable,
                $"No server of {service.ServiceName} is subscribed to '{topic}' (the broker answered NoMatchingSubscribers, and dropped the request): start one, or check {MqttTransportOptions.SectionName}:{nameof(MqttTransportOptions.RequestTopic)} on both sides."), request.Id.ToString());
        }

        if (result.ReasonCode != MqttClientPublishReasonCode.Success)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.Unavailable, $"The MQTT broker refused the request to '{topic}': {result.ReasonCode} {result.ReasonString}".TrimEnd()), request.Id.ToString());
        }
    }

    /// <inheritdoc />
    public async ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (address.IsEmpty)
        {
            throw new ArgumentException("The reply address is empty.", nameof(address));
        }

        var message = MqttMessages.EncodeReply(address, reply);
        CheckSize(message, "reply", reply.Id);
        var connection = await MainAsync(cancellationToken).ConfigureAwait(false);
        var result = await connection.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        if (result.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers)
        {
            // The caller's session is gone (it stopped, or it crashed and its session expired): the
            // claim keeps the replies for IRpcResults and for a retry of the same request.
            Log.ReplyUnrouted(_logger, reply.Id, address.Destination);
        }
        else if (result.ReasonCode != MqttClientPublishReasonCode.Success)
        {
            throw new InvalidOperationException($"The MQTT broker refused reply {reply.Id} to '{address.Destination}': {result.ReasonCode} {result.ReasonString}".TrimEnd());
        }
    }

    /// <inheritdoc />
    public async ValueTask<IAsyncDisposable> SubscribeRequestsAsync(RpcServiceDescriptor service, RpcRequestHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed == 1, this);
        // Replies and handed-over requests go out on the main connection.
        await MainAsync(cancellationToken).ConfigureAwait(false);
        var subscription = new MqttRequestSubscription(this, service, handler, _options, _instanceId, _logger);
        try
        {
            await subscription.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Its subscription may have been granted: leave, so no share of requests waits for it.
            await subscription.CloseAsync().ConfigureAwait(false);
            throw;
        }

        lock (_servers)
        {
            _servers.Add(subscription);
        }

        return new Served(this, subscription);
    }

    /// <inheritdoc />
    public async ValueTask<IRpcReplySubscription> SubscribeRepliesAsync(string instanceId, RpcReplyHandler handler, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed == 1, this);
        if (!string.Equals(instanceId, _instanceId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"This transport was made for instance '{_instanceId}', not '{instanceId}'.", nameof(instanceId));
        }

        if (Interlocked.CompareExchange(ref _replies, handler, null) is not null)
        {
            throw new InvalidOperationException("This instance already reads its replies.");
        }

        try
        {
            var connection = await MainAsync(cancellationToken).ConfigureAwait(false);
            await connection.SubscribeAsync(ReplyTopic, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _replies = null;
            throw;
        }

        Log.ReadingReplies(_logger, instanceId, ReplyTopic);
        return new ReplySubscription(this);
    }

    /// <inheritdoc />
    /// <remarks>Connects, so the first call does not wait for the connection.</remarks>
    public async ValueTask PrepareToSendAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken) =>
        await MainAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    /// <remarks>Connects, so the first reply does not wait for the connection.</remarks>
    public async ValueTask PrepareToReplyAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken) =>
        await MainAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Stops every server (each hands its unfinished requests to the other members) and disconnects, ending the sessions.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        MqttRequestSubscription[] servers;
        lock (_servers)
        {
            servers = _servers.ToArray();
            _servers.Clear();
        }

        foreach (var server in servers)
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }

        _replies = null;
        if (_unclaimed is not null)
        {
            await _unclaimed.DisposeAsync().ConfigureAwait(false);
        }

        await _main.CloseAsync(keepSession: false).ConfigureAwait(false);
    }

    /// <summary>
    /// Test seam: drops every connection the way a killed process would — nothing acknowledged,
    /// handed over or disconnected — so tests can prove what the broker and the store recover.
    /// </summary>
    internal Task SimulateCrashAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        MqttRequestSubscription[] servers;
        lock (_servers)
        {
            servers = _servers.ToArray();
            _servers.Clear();
        }

        foreach (var server in servers)
        {
            server.Abandon();
        }

        _replies = null;
        _main.Abandon();
        return _unclaimed?.DisposeAsync().AsTask() ?? Task.CompletedTask;
    }

    /// <summary>Requests sent and not answered yet, followed for publishing again (for tests).</summary>
    internal int UnansweredRequests => _unclaimed?.Count ?? 0;

    /// <summary>Publishes on the main connection (a server handing over an unfinished request).</summary>
    internal async Task<MqttClientPublishResult> PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        var connection = await MainAsync(cancellationToken).ConfigureAwait(false);
        return await connection.PublishAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Logs a message that cannot be used and copies it to the dead-letter topic (when configured), with the reason.</summary>
    internal async Task DeadLetterAsync(MqttApplicationMessage message, string reason)
    {
        if (_options.DeadLetterTopic is not { } topic)
        {
            Log.Dropped(_logger, message.Topic, reason, string.Empty);
            return;
        }

        Log.Dropped(_logger, message.Topic, reason, " and copied to " + topic);
        try
        {
            // Copied: MQTTnet's message is not ours to keep after its handler returns. One over the
            // size limit would be refused again: its payload is left out, and the reason says so.
            var payload = BuffersExtensions.ToArray<byte>(message.Payload);
            if (MqttMessages.Size(message) > _options.MaxMessageBytes)
            {
                reason += $" (its {payload.Length}-byte payload is not copied)";
                payload = Array.Empty<byte>();
            }

            var properties = new List<MqttUserProperty>((message.UserProperties?.Count ?? 0) + 2)
            {
                new("trpc-dead-letter-topic", Encoding.UTF8.GetBytes(message.Topic)),
                new(DeadLetterReasonProperty, Encoding.UTF8.GetBytes(reason)),
            };
            if (message.UserProperties is { } original)
            {
                foreach (var property in original)
                {
                    properties.Add(new MqttUserProperty(property.Name, property.ValueBuffer.ToArray()));
                }
            }

            await PublishAsync(new MqttApplicationMessage
            {
                Topic = topic,
                QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
                Payload = new ReadOnlySequence<byte>(payload),
                CorrelationData = (byte[]?)message.CorrelationData?.Clone(),
                ResponseTopic = message.ResponseTopic,
                UserProperties = properties,
            }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.DeadLetterFailed(_logger, topic, ex.Message);
        }
    }

    /// <summary>A request as a message, expiring in the broker a minute after its deadline.</summary>
    internal static MqttApplicationMessage RequestMessage(RpcRequest request, string topic)
    {
        var message = MqttMessages.EncodeRequest(request, topic);
        // A request nobody took by its deadline is useless: the broker may drop it rather than
        // queue it (for a member that is away) any longer. The minute covers clock skew.
        var remaining = (request.DeadlineUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) / 1000.0;
        message.MessageExpiryInterval = (uint)Math.Clamp(Math.Ceiling(remaining) + 60, 60, uint.MaxValue);
        return message;
    }

    /// <summary>Publishes a request again (one no server claimed).</summary>
    private async Task PublishRequestAsync(RpcRequest request, string topic, CancellationToken cancellationToken)
    {
        var connection = await MainAsync(cancellationToken).ConfigureAwait(false);
        await connection.PublishAsync(RequestMessage(request, topic), cancellationToken).ConfigureAwait(false);
    }

    private void CheckSize(MqttApplicationMessage message, string what, CorrelationId id)
    {
        var size = MqttMessages.Size(message);
        if (size > _options.MaxMessageBytes)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.ResourceExhausted,
                $"The {what} is {size} bytes; the limit is {_options.MaxMessageBytes} ({MqttTransportOptions.SectionName}:{nameof(MqttTransportOptions.MaxMessageBytes)})."), id.ToString());
        }
    }

    /// <summary>The main connection, connected on first use (a failed connect is tried again by the next use).</summary>
    private async ValueTask<MqttConnection> MainAsync(CancellationToken cancellationToken)
    {
        if (_mainConnected)
        {
            return _main;
        }

        ObjectDisposedException.ThrowIf(_disposed == 1, this);
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_mainConnected)
            {
                await _main.ConnectAsync(cancellationToken).ConfigureAwait(false);
                _mainConnected = true;
            }
        }
        finally
        {
            _connectGate.Release();
        }

        return _main;
    }

    // Replies are handled one at a time, in the order the broker delivers them, and acknowledged
    // (automatically) when their handler returns: reply handling only completes waiters.
    private async Task OnReplyMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var reply = MqttMessages.DecodeReply(e.ApplicationMessage, _options.MaxMessageBytes, out var reason);
        if (reply is null)
        {
            await DeadLetterAsync(e.ApplicationMessage, reason!).ConfigureAwait(false);
            return;
        }

        if (reason is not null)
        {
            Log.Dropped(_logger, e.ApplicationMessage.Topic, reason, ", its call answered DataLoss");
        }

        _unclaimed?.Forget(reply.Id);

        if (_replies is not { } handler)
        {
            return;
        }

        try
        {
            await handler(reply, _main.Stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_main.Stopping.IsCancellationRequested)
        {
            Log.ReplyFailed(_logger, ex, reply.Id);
        }
    }

    /// <summary>A served contract: stopping it removes it from the transport's list.</summary>
    private sealed class Served(MqttRpcTransport transport, MqttRequestSubscription subscription) : IRpcRequestSubscription
    {
        public Task Assigned => subscription.Assigned;

        public async ValueTask DisposeAsync()
        {
            lock (transport._servers)
            {
                transport._servers.Remove(subscription);
            }

            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The instance's reply subscription on the main connection.</summary>
    private sealed class ReplySubscription(MqttRpcTransport transport) : IRpcReplySubscription
    {
        private int _disposed;

        public RpcReplyAddress Address { get; } = new(transport.ReplyTopic);

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            transport._replies = null;
            try
            {
                await transport._main.UnsubscribeAsync(transport.ReplyTopic, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or ObjectDisposedException or OperationCanceledException)
            {
                // Disconnected: the session ends with the transport.
            }
        }
    }
}
