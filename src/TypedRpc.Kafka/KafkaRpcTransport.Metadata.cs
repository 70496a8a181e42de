using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Confluent.Kafka;

namespace TypedRpc.Kafka;

// Topic metadata and the producer id, fetched before the first send. librdkafka holds a message for
// a topic it has no metadata for until its once-a-second topic scan; a metadata request through the
// producer's own handle fills the same cache in one round trip. A second lookup, answered by a
// learned broker rather than the bootstrap connection, makes the idempotent producer ask for its id
// at once instead of on its 500 ms timer (measurements: docs/architecture.md, "Producer").
public sealed partial class KafkaRpcTransport
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(5);

    // One lookup per topic for the transport's lifetime; true when the topic was found.
    private readonly ConcurrentDictionary<string, Lazy<Task<bool>>> _metadata = new(StringComparer.Ordinal);

    // Set once a lookup has been answered after the first: the producer id was asked for by then.
    private volatile bool _producerIdRequested;

    /// <inheritdoc />
    /// <remarks>
    /// Fetches the metadata of each contract's request topic, and of the client group's reply topic
    /// (which this instance's own servers answer its group through), through the producer's handle:
    /// in parallel, each bounded by 5 s; then looks one found topic up again so that the producer
    /// asks for its producer id at once. A topic that does not exist or does not answer in time is
    /// logged (event 118) and the start goes on.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The transport is disposed.</exception>
    public async ValueTask PrepareToSendAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        ObjectDisposedException.ThrowIf(_disposed == 1, this);
        var topics = new List<string>(services.Count + 1);
        foreach (var service in services)
        {
            AddOnce(topics, _options.RequestTopic(service));
        }

        AddOnce(topics, _options.EffectiveReplyTopic);
        var started = Stopwatch.GetTimestamp();
        var lookups = new Task<bool>[topics.Count];
        for (var i = 0; i < topics.Count; i++)
        {
            lookups[i] = FetchMetadataAsync(topics[i]);
        }

        var found = await Task.WhenAll(lookups).WaitAsync(cancellationToken).ConfigureAwait(false);
        var known = new List<string>(topics.Count);
        for (var i = 0; i < topics.Count; i++)
        {
            if (found[i])
            {
                known.Add(topics[i]);
            }
        }

        if (known.Count > 0 && !_producerIdRequested)
        {
            await RequestProducerIdAsync(known[0]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Log.MetadataFetched(_logger, string.Join(", ", known), Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Creates the producer and looks up the served contracts' request topics through it (they
    /// exist: this instance consumes them), twice, so that the producer holds its producer id before
    /// the first reply; each lookup bounded by 5 s. The topics callers want replies on are looked up
    /// as their first requests arrive, alongside the reply.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The transport is disposed.</exception>
    public async ValueTask PrepareToReplyAsync(IReadOnlyList<RpcServiceDescriptor> services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        ObjectDisposedException.ThrowIf(_disposed == 1, this);
        if (services.Count == 0)
        {
            return;
        }

        var topic = _options.RequestTopic(services[0]);
        if (await FetchMetadataAsync(topic).WaitAsync(cancellationToken).ConfigureAwait(false) && !_producerIdRequested)
        {
            await RequestProducerIdAsync(topic).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether the producer has looked the topic up and found it (for tests and diagnostics).</summary>
    internal bool HasMetadata(string topic) =>
        _metadata.TryGetValue(topic, out var lookup) && lookup.IsValueCreated && lookup.Value.IsCompletedSuccessfully && lookup.Value.Result;

    /// <summary>
    /// On the send path: a topic not looked up yet (for a server, each caller group's reply topic;
    /// a contract called without <c>AddClient</c>) is looked up now, alongside the send it would
    /// otherwise hold up — the answer releases the waiting message too.
    /// </summary>
    private void EnsureMetadata(string topic)
    {
        if (!_metadata.ContainsKey(topic))
        {
            _ = FetchMetadataAsync(topic);
        }
    }

    // On a thread of its own, not the pool: the lookup blocks, and queued behind a busy pool it
    // started too late to beat the scan (a starved pool: ~1 s; its own thread: 1-11 ms).
    private Task<bool> FetchMetadataAsync(string topic) =>
        _metadata.GetOrAdd(topic, static (t, self) => new Lazy<Task<bool>>(() => OnOwnThread(() => self.FetchMetadata(t))), this).Value;

    // A second lookup of a topic already found: its answer comes from a broker the producer learned
    // from the first, with that connection up, which is when librdkafka asks for the producer id.
    private Task RequestProducerIdAsync(string topic) => OnOwnThread(() =>
    {
        try
        {
            LookUp(topic);
            _producerIdRequested = true;
        }
        catch (Exception ex) when (ex is KafkaException or ObjectDisposedException)
        {
            // Only an optimisation: without it the id is requested on librdkafka's 500 ms timer.
        }

        return true;
    });

    private static Task<T> OnOwnThread<T>(Func<T> lookup) =>
        Task.Factory.StartNew(lookup, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    // One metadata request through the producer's own handle, so its answer fills the producer's cache.
    private Metadata LookUp(string topic)
    {
        using var admin = new DependentAdminClientBuilder(_producer.Value.Handle).Build();
        return admin.GetMetadata(topic, MetadataTimeout);
    }

    private bool FetchMetadata(string topic)
    {
        string reason;
        try
        {
            var metadata = LookUp(topic);
            reason = "the broker did not return it";
            foreach (var found in metadata.Topics)
            {
                if (found.Topic == topic)
                {
                    if (found.Error.Code == ErrorCode.NoError && found.Partitions.Count > 0)
                    {
                        return true;
                    }

                    reason = found.Error.Code == ErrorCode.NoError ? "it has no partitions" : found.Error.Reason;
                }
            }
        }
        catch (Exception ex)
        {
            // Only an optimisation: whatever went wrong (broker away, producer disposed meanwhile),
            // sends still work the slow way, and a send that truly fails reports it itself.
            reason = ex is KafkaException kafka ? kafka.Error.Reason : ex.Message;
        }

        Log.MetadataMissing(_logger, topic, reason, MetadataTimeout.TotalMilliseconds);
        return false;
    }

    private static void AddOnce(List<string> topics, string topic)
    {
        if (!topics.Contains(topic))
        {
            topics.Add(topic);
        }
    }
}
