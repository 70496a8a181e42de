using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace TypedRpc.Kafka;

/// <summary>
/// The reply-partition leases of one caller instance, held in the lease store: its own
/// partition (leased, or shared when every partition is leased or there is no store), renewed every
/// <see cref="KafkaTransportOptions.LeaseRenewInterval"/> and moved when lost; and the partitions it
/// adopts because their holder died with replies unread, let go once drained and quiet. The reading
/// itself is the <see cref="IReplyPartitionReader"/>'s.
/// </summary>
internal sealed class ReplyPartitionLeaser
{
    private static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(2);
    private readonly IReplyPartitionLeaseStore? _store;
    private readonly IReplyPartitionReader _reader;
    private readonly KafkaTransportOptions _options;
    private readonly string _instanceId;
    private readonly string _topic;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;

    // Adopted partitions, each with the time (Environment.TickCount64) a record was last read from it.
    private readonly ConcurrentDictionary<int, long> _adopted = new();
    private Task? _renewal;
    private int _partitions;
    private volatile int _partition = -1;
    private volatile bool _leased;

    /// <param name="store">The store holding the leases, or <see langword="null"/> (the instance then shares the partition its id hashes to).</param>
    /// <param name="reader">The consumer reading the partitions.</param>
    /// <param name="options">The transport's settings (client group, lease time to live and renew interval).</param>
    /// <param name="instanceId">This instance.</param>
    /// <param name="topic">The reply topic (for logs).</param>
    /// <param name="logger">The logger.</param>
    /// <param name="stopping">Ends the renewals.</param>
    public ReplyPartitionLeaser(IReplyPartitionLeaseStore? store, IReplyPartitionReader reader, KafkaTransportOptions options, string instanceId, string topic,
        ILogger logger, CancellationToken stopping)
    {
        _store = store;
        _reader = reader;
        _options = options;
        _instanceId = instanceId;
        _topic = topic;
        _logger = logger;
        _stopping = stopping;
    }

    /// <summary>The partition this instance's replies are sent to; -1 until <see cref="AcquireAsync"/> has chosen one.</summary>
    public int Partition => _partition;

    /// <summary>
    /// Leases a free partition (trying first the one the instance id hashes to) and has the reader
    /// read it. With every partition leased, no store, or the store unreachable, the instance shares
    /// its home partition: replies that land there for others are forwarded, and the renewals take a
    /// lease as soon as one can be had.
    /// </summary>
    /// <param name="partitions">The reply topic's partition count.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when the partition is being read.</returns>
    public async Task AcquireAsync(int partitions, CancellationToken cancellationToken)
    {
        _partitions = partitions;
        int partition;
        try
        {
            partition = await ChooseAsync(exclude: -1, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            partition = Home;
            _leased = false;
            Log.LeaseRenewFailed(_logger, ex, _topic, partition);
        }

        _reader.Read(partition);
        _partition = partition;
    }

    /// <summary>Starts renewing (when there is a store): every renew interval, tend the adopted partitions, then renew or move the own one.</summary>
    public void StartRenewing()
    {
        if (_store is not null)
        {
            _renewal = RenewLoopAsync(_store);
        }
    }

    /// <summary>Notes that a record was read from a partition (keeps an adopted partition from counting as quiet).</summary>
    /// <param name="partition">The partition.</param>
    public void NoteRecord(int partition)
    {
        if (_adopted.TryGetValue(partition, out var last))
        {
            _adopted.TryUpdate(partition, Environment.TickCount64, last);
        }
    }

    /// <summary>Waits for the renewals to end (they end when the stopping token is cancelled).</summary>
    /// <returns>A task that completes when they have ended.</returns>
    public Task StopAsync() => _renewal ?? Task.CompletedTask;

    /// <summary>Releases every lease held — adopted ones first, then the own one — each bounded by 2 s.</summary>
    /// <returns>A task that completes when done; failures are logged.</returns>
    public async Task ReleaseAsync()
    {
        if (_store is null)
        {
            return;
        }

        foreach (var partition in _adopted.Keys)
        {
            await ReleaseAsync(_store, partition).ConfigureAwait(false);
        }

        if (_leased)
        {
            await ReleaseAsync(_store, _partition).ConfigureAwait(false);
        }
    }

    /// <summary>The partition this instance id hashes to.</summary>
    private int Home => (int)((uint)StableHash(_instanceId) % (uint)_partitions);

    private async Task ReleaseAsync(IReplyPartitionLeaseStore store, int partition)
    {
        Log.LeaseEvent("released");
        try
        {
            await store.ReleaseAsync(_options.ClientGroup, partition, _instanceId, CancellationToken.None).AsTask().WaitAsync(ReleaseTimeout).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.LeaseRenewFailed(_logger, ex, _topic, partition);
        }
    }

    private async Task<int> ChooseAsync(int exclude, CancellationToken cancellationToken)
    {
        var start = Home;
        if (_store is not null)
        {
            for (var i = 0; i < _partitions; i++)
            {
                var candidate = (start + i) % _partitions;

                // A partition this instance holds as an adopter is not free: leasing it too would
                // assign it twice (refused) and, once the adoption ends, let go of the new lease as
                // well — the instance would wait for replies on a partition nobody reads.
                if (candidate == exclude || _adopted.ContainsKey(candidate))
                {
                    continue;
                }

                if (await _store.TryAcquireAsync(_options.ClientGroup, candidate, _instanceId, _options.LeaseTimeToLive, cancellationToken).ConfigureAwait(false))
                {
                    _leased = true;
                    Log.LeaseEvent("acquired");
                    Log.ReplyPartitionChosen(_logger, _instanceId, _topic, candidate, "leased");
                    return candidate;
                }
            }
        }

        // Every partition is leased. One this instance holds as an adopter becomes its own: it is
        // leased and read already, and sharing the home partition instead could mean reading a
        // partition twice (when that is the adopted one) and losing it when the adoption ends.
        for (var i = 0; i < _partitions; i++)
        {
            var candidate = (start + i) % _partitions;
            if (candidate != exclude && _adopted.TryRemove(candidate, out _))
            {
                _leased = true;
                Log.ReplyPartitionChosen(_logger, _instanceId, _topic, candidate, "leased, held as an adopter until now");
                return candidate;
            }
        }

        // More instances than partitions, or no store: share one; replies for others are
        // forwarded through the store.
        _leased = false;
        Log.ReplyPartitionChosen(_logger, _instanceId, _topic, start, "shared");
        return start;
    }

    private async Task RenewLoopAsync(IReplyPartitionLeaseStore store)
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.LeaseRenewInterval, _stopping).ConfigureAwait(false);
                await TendAdoptedAsync(store).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.LeaseRenewFailed(_logger, ex, _topic, -1);
            }

            try
            {
                await RenewOwnAsync(store).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store may be briefly unreachable; the lease outlives a few missed renewals.
                Log.LeaseRenewFailed(_logger, ex, _topic, _partition);
            }
        }
    }

    /// <summary>Renews the own lease; when it expired (a long pause) or was taken, takes it back or moves to a free partition.</summary>
    private async Task RenewOwnAsync(IReplyPartitionLeaseStore store)
    {
        var partition = _partition;
        if (_leased && await store.RenewAsync(_options.ClientGroup, partition, _instanceId, _options.LeaseTimeToLive, _stopping).ConfigureAwait(false))
        {
            return;
        }

        if (_leased)
        {
            // Calls waiting on the old partition are not lost: its new reader forwards their replies through the store.
            if (await store.TryAcquireAsync(_options.ClientGroup, partition, _instanceId, _options.LeaseTimeToLive, _stopping).ConfigureAwait(false))
            {
                return;
            }

            Log.LeaseEvent("lost");
            Log.LeaseLost(_logger, _instanceId, _topic, partition);
        }

        // Not leased (sharing, or just lost it): look for a free partition.
        var adopted = _adopted.Keys.ToArray();
        var next = await ChooseAsync(exclude: _leased ? partition : -1, _stopping).ConfigureAwait(false);
        if (next != partition)
        {
            _reader.Stop(partition);
            if (Array.IndexOf(adopted, next) < 0)
            {
                _reader.Read(next);
            }

            _partition = next;
        }
    }

    /// <summary>
    /// Keeps adopted partitions (renew; let go once drained and quiet) and looks for orphans: a
    /// partition nobody leases whose committed position is behind its end holds replies of a dead
    /// instance — adopt it, read it, and forward what is read through the store.
    /// </summary>
    private async Task TendAdoptedAsync(IReplyPartitionLeaseStore store)
    {
        foreach (var partition in _adopted.Keys)
        {
            if (!_adopted.TryGetValue(partition, out var lastRecord))
            {
                continue;
            }

            var renewed = await store.RenewAsync(_options.ClientGroup, partition, _instanceId, _options.LeaseTimeToLive, _stopping).ConfigureAwait(false);
            var quiet = Environment.TickCount64 - lastRecord > 2 * (long)_options.LeaseRenewInterval.TotalMilliseconds;
            if (!renewed || (quiet && _reader.InFlight(partition) == 0))
            {
                _reader.Stop(partition);
                _adopted.TryRemove(partition, out _);
                Log.LeaseEvent(renewed ? "released" : "lost");
                if (renewed)
                {
                    await store.ReleaseAsync(_options.ClientGroup, partition, _instanceId, _stopping).ConfigureAwait(false);
                }

                Log.PartitionReleased(_logger, _instanceId, _topic, partition);
            }
        }

        for (var partition = 0; partition < _partitions; partition++)
        {
            if (partition == _partition || _adopted.ContainsKey(partition)
                || await store.GetHolderAsync(_options.ClientGroup, partition, _stopping).ConfigureAwait(false) is not null)
            {
                continue;
            }

            if (!_reader.HasUnread(partition, out var position, out var end)
                || !await store.TryAcquireAsync(_options.ClientGroup, partition, _instanceId, _options.LeaseTimeToLive, _stopping).ConfigureAwait(false))
            {
                continue;
            }

            _reader.Adopt(partition, position);
            _adopted[partition] = Environment.TickCount64;
            Log.LeaseEvent("adopted");
            Log.PartitionAdopted(_logger, _instanceId, _topic, partition, end - position);
        }
    }

    /// <summary>FNV-1a: the same instance id picks the same first partition in every process.</summary>
    private static int StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)hash;
    }
}
