using System;
using System.Collections.Generic;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace TypedRpc.Mqtt;

/// <summary>
/// One MQTT 5 connection with a persistent session: it reconnects on its own (MQTTnet 5 has no
/// managed client) and subscribes again when the broker no longer has its session, bounds its
/// unacknowledged publishes by the broker's Receive Maximum (MQTTnet does not), and stops either
/// cleanly (DISCONNECT ending the session) or as a crash would (the socket dropped, nothing sent).
/// </summary>
internal sealed class MqttConnection : IAsyncDisposable
{
    private readonly MqttTransportOptions _options;
    private readonly ILogger _logger;
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _clientOptions;
    private readonly List<string> _filters = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile SemaphoreSlim? _window;
    private int _reconnecting;
    private int _closed;

    /// <param name="options">The transport's settings.</param>
    /// <param name="clientId">The client id: the broker keeps the session under it.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="onMessage">Receives each message (it sets its own acknowledgement mode), or <see langword="null"/> for a connection that only publishes.</param>
    public MqttConnection(MqttTransportOptions options, string clientId, ILogger logger, Func<MqttApplicationMessageReceivedEventArgs, Task>? onMessage)
    {
        _options = options;
        _logger = logger;
        ClientId = clientId;
        _client = new MqttClientFactory().CreateMqttClient();
        _clientOptions = ClientOptions(options, clientId);
        if (onMessage is not null)
        {
            _client.ApplicationMessageReceivedAsync += onMessage;
        }

        _client.DisconnectedAsync += OnDisconnectedAsync;
    }

    /// <summary>The client id.</summary>
    public string ClientId { get; }

    /// <summary>Cancelled when the connection is closed or abandoned.</summary>
    public CancellationToken Stopping => _stop.Token;

    /// <summary>Connects the first time; a refusal or an unreachable broker fails with the reason and the setting to look at.</summary>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>A task that completes when connected.</returns>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        MqttClientConnectResult result;
        try
        {
            result = await _client.ConnectAsync(_clientOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"Could not connect to the MQTT broker {_options.Server} as client '{ClientId}' within {_options.ConnectTimeout.TotalSeconds:0.#} s: {ex.Message} "
                + $"(check {MqttTransportOptions.SectionName}:{nameof(MqttTransportOptions.Server)}, the credentials and TLS settings).", ex);
        }

        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"The MQTT broker {_options.Server} refused client '{ClientId}': {result.ResultCode} {result.ReasonString}".TrimEnd());
        }

        OnConnected(result);
    }

    /// <summary>Subscribes at QoS 1, and again after every reconnect.</summary>
    /// <param name="filter">The topic filter.</param>
    /// <param name="cancellationToken">Cancels the subscribe.</param>
    /// <returns>A task that completes when the broker granted it.</returns>
    public async Task SubscribeAsync(string filter, CancellationToken cancellationToken)
    {
        lock (_filters)
        {
            _filters.Add(filter);
        }

        try
        {
            await SubscribeOnceAsync(filter, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (_filters)
            {
                _filters.Remove(filter);
            }

            throw;
        }
    }

    /// <summary>Unsubscribes (no new messages are sent to this connection under the filter).</summary>
    /// <param name="filter">The topic filter.</param>
    /// <param name="cancellationToken">Cancels the unsubscribe.</param>
    /// <returns>A task that completes when the broker answered.</returns>
    public async Task UnsubscribeAsync(string filter, CancellationToken cancellationToken)
    {
        lock (_filters)
        {
            _filters.Remove(filter);
        }

        if (_client.IsConnected)
        {
            await _client.UnsubscribeAsync(new MqttClientUnsubscribeOptionsBuilder().WithTopicFilter(filter).Build(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Publishes at QoS 1 and waits for the broker's acknowledgement, waiting up to
    /// <see cref="MqttTransportOptions.ConnectTimeout"/> for a reconnect first.
    /// </summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the publish.</param>
    /// <returns>The broker's answer.</returns>
    public async Task<MqttClientPublishResult> PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
            var window = _window!;
            await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await _client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException) when (attempt == 1 && !_client.IsConnected && !_stop.IsCancellationRequested)
            {
                // Lost between the check and the send (MQTTnet reports the loss a moment later):
                // once more on the next connection. A QoS 1 message may be published twice at worst.
                var until = Environment.TickCount64 + (long)_options.ConnectTimeout.TotalMilliseconds;
                while (!_client.IsConnected && Environment.TickCount64 < until && !_stop.IsCancellationRequested)
                {
                    await Task.Delay(20, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                window.Release();
            }
        }
    }

    private async Task WaitConnectedAsync(CancellationToken cancellationToken)
    {
        var connected = _connected.Task;
        if (connected.IsCompleted)
        {
            return;
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) == 1, this);
        try
        {
            await connected.WaitAsync(_options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException($"Not connected to the MQTT broker {_options.Server} (client '{ClientId}' has been reconnecting for {_options.ConnectTimeout.TotalSeconds:0.#} s).");
        }
    }

    /// <summary>
    /// Disconnects cleanly. Unless <paramref name="keepSession"/>, it unsubscribes first: MQTTnet
    /// leaves a zero Session Expiry out of its DISCONNECT, so the broker keeps the session for
    /// <see cref="MqttTransportOptions.SessionExpiry"/> anyway — empty, so nothing is routed to it.
    /// </summary>
    /// <param name="keepSession">Keep the session with its subscriptions (it holds unacknowledged messages for this client's return).</param>
    /// <returns>A task that completes when closed.</returns>
    public async Task CloseAsync(bool keepSession)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }

        _stop.Cancel();
        if (_client.IsConnected)
        {
            try
            {
                using var timeout = new CancellationTokenSource(_options.ConnectTimeout);
                string[] filters;
                lock (_filters)
                {
                    filters = keepSession ? [] : _filters.ToArray();
                }

                if (filters.Length > 0)
                {
                    var unsubscribe = new MqttClientUnsubscribeOptionsBuilder();
                    foreach (var filter in filters)
                    {
                        unsubscribe.WithTopicFilter(filter);
                    }

                    await _client.UnsubscribeAsync(unsubscribe.Build(), timeout.Token).ConfigureAwait(false);
                }

                await _client.DisconnectAsync(new MqttClientDisconnectOptions
                {
                    Reason = MqttClientDisconnectOptionsReason.NormalDisconnection,
                    SessionExpiryInterval = keepSession ? SessionExpirySeconds(_options) : 0,
                }, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
            {
                // Gone already: the broker ends the connection as it would a crash's.
            }
        }

        _client.Dispose();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(CloseAsync(keepSession: false));

    /// <summary>Drops the connection as a killed process would: no DISCONNECT, the session left to expire.</summary>
    public void Abandon()
    {
        Interlocked.Exchange(ref _closed, 1);
        _stop.Cancel();
        // MQTTnet's Dispose closes the socket without a DISCONNECT packet.
        _client.Dispose();
    }

    internal static uint SessionExpirySeconds(MqttTransportOptions options) => (uint)Math.Ceiling(options.SessionExpiry.TotalSeconds);

    private static MqttClientOptions ClientOptions(MqttTransportOptions options, string clientId)
    {
        MqttTransportOptionsValidator.TrySplitServer(options.Server, options.UseTls, out var host, out var port);
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host.Trim('[', ']'), port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(clientId)
            // The session outlives a dropped connection, so the broker keeps what it has for this
            // client (unacknowledged requests, replies) until it reconnects.
            .WithCleanStart(false)
            .WithSessionExpiryInterval(SessionExpirySeconds(options))
            .WithReceiveMaximum((ushort)options.ReceiveMaximum)
            .WithKeepAlivePeriod(options.KeepAlive)
            .WithTimeout(options.ConnectTimeout);
        if (options.Username is not null)
        {
            builder.WithCredentials(options.Username, options.Password);
        }

        if (options.UseTls)
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls().WithTargetHost(host.Trim('[', ']'));
                if (options.ClientCertificateFile is not null && options.ClientKeyFile is not null)
                {
                    tls.WithClientCertificates(new[] { X509Certificate2.CreateFromPemFile(options.ClientCertificateFile, options.ClientKeyFile) });
                }

                if (options.CaCertificateFile is not null)
                {
                    var authority = new X509Certificate2Collection();
                    authority.ImportFromPemFile(options.CaCertificateFile);
                    tls.WithCertificateValidationHandler(e => ChainsTo(authority, e.Certificate, e.SslPolicyErrors));
                }
            });
        }

        return builder.Build();
    }

    /// <summary>The broker's certificate is valid for its name and chains to the configured authority (not the system's roots).</summary>
    private static bool ChainsTo(X509Certificate2Collection authority, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    private async Task SubscribeOnceAsync(string filter, CancellationToken cancellationToken)
    {
        var result = await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), cancellationToken).ConfigureAwait(false);
        foreach (var item in result.Items)
        {
            if (item.ResultCode is not (MqttClientSubscribeResultCode.GrantedQoS1 or MqttClientSubscribeResultCode.GrantedQoS2))
            {
                var hint = item.ResultCode == MqttClientSubscribeResultCode.SharedSubscriptionsNotSupported
                    ? " The broker does not support MQTT 5 shared subscriptions, which the serving cluster needs."
                    : string.Empty;
                throw new InvalidOperationException($"The MQTT broker {_options.Server} refused the subscription to '{filter}' at QoS 1: {item.ResultCode}.{hint}");
            }
        }
    }

    private void OnConnected(MqttClientConnectResult result)
    {
        // The broker's Receive Maximum bounds this client's unacknowledged QoS 1 publishes (65,535
        // when it sets none); a restarted broker may state another, so each connection gets its own
        // window (a publish keeps the one it took its slot from).
        var receiveMaximum = result.ReceiveMaximum is > 0 ? (int)result.ReceiveMaximum.Value : ushort.MaxValue;
        _window = new SemaphoreSlim(receiveMaximum, receiveMaximum);

        Log.Connected(_logger, ClientId, _options.Server, result.IsSessionPresent ? "resumed" : "new", receiveMaximum);
        lock (_gate)
        {
            // Lost again already (the disconnect reset the signal before this): publishes wait for the next one.
            if (_client.IsConnected)
            {
                _connected.TrySetResult();
            }
        }
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        // A failed attempt of the reconnect loop reports itself too (ClientWasConnected false), and
        // MQTTnet raises the event on a task of its own: it may come after the next connect.
        if (_stop.IsCancellationRequested || !e.ClientWasConnected || _client.IsConnected)
        {
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            if (_connected.Task.IsCompleted)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        Log.Disconnected(_logger, e.Exception, ClientId, _options.Server, e.ReasonString ?? e.Reason.ToString());
        StartReconnecting();
        return Task.CompletedTask;
    }

    private void StartReconnecting()
    {
        if (Interlocked.Exchange(ref _reconnecting, 1) == 0)
        {
            _ = Task.Run(ReconnectAsync);
        }
    }

    private async Task ReconnectAsync()
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; !_stop.IsCancellationRequested; attempt++)
        {
            try
            {
                await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
                var result = await _client.ConnectAsync(_clientOptions, _stop.Token).ConfigureAwait(false);
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                {
                    throw new InvalidOperationException($"refused: {result.ResultCode} {result.ReasonString}");
                }

                // Subscribed again every time, not only when the broker lost the session (restarted
                // without persistence, or it expired): a resubscribe that failed after such a
                // reconnect would otherwise leave a session that is present but subscribed to nothing.
                string[] filters;
                lock (_filters)
                {
                    filters = _filters.ToArray();
                }

                foreach (var filter in filters)
                {
                    await SubscribeOnceAsync(filter, _stop.Token).ConfigureAwait(false);
                }

                OnConnected(result);
                break;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5_000));
                Log.ReconnectFailed(_logger, ClientId, _options.Server, attempt, ex.Message, delay.TotalMilliseconds);
                if (_client.IsConnected)
                {
                    // Connected but a resubscribe failed: start over on a fresh connection.
                    try
                    {
                        await _client.DisconnectAsync(new MqttClientDisconnectOptions { SessionExpiryInterval = SessionExpirySeconds(_options) }, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        // Already gone.
                    }
                }
            }
        }

        Volatile.Write(ref _reconnecting, 0);
        // Lost again between the connect and the line above: its handler saw a loop still running.
        if (!_client.IsConnected && !_stop.IsCancellationRequested)
        {
            StartReconnecting();
        }
    }
}
