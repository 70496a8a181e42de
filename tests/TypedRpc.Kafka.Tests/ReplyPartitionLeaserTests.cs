using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using TypedRpc.InMemory;
using Xunit;

namespace TypedRpc.Kafka.Tests;

/// <summary>Reply-partition leases over the in-memory lease store, with a reader that only records what it is asked to do.</summary>
public sealed class ReplyPartitionLeaserTests : IAsyncLifetime
{
    private const string Group = "g";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly InMemoryReplyPartitionLeaseStore _store = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<ReplyPartitionLeaser> _leasers = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_leasers.Select(l => l.StopAsync())).WaitAsync(Patience);
        _stop.Dispose();
    }

    [Fact]
    public async Task Acquire_LeasesAPartition_AndHasItRead()
    {
        var reader = new RecordingReader();
        var leaser = Leaser("a", reader);

        await leaser.AcquireAsync(8, CancellationToken.None);

        Assert.InRange(leaser.Partition, 0, 7);
        Assert.Equal(new[] { $"read {leaser.Partition}" }, reader.Calls);
        Assert.Equal("a", await _store.GetHolderAsync(Group, leaser.Partition, CancellationToken.None));
    }

    [Fact]
    public async Task Acquire_TheSameInstanceId_StartsFromTheSamePartition()
    {
        var first = Leaser("instance-7", new RecordingReader());
        var second = new ReplyPartitionLeaser(new InMemoryReplyPartitionLeaseStore(), new RecordingReader(), Options(), "instance-7", "replies", NullLogger.Instance, _stop.Token);

        await first.AcquireAsync(32, CancellationToken.None);
        await second.AcquireAsync(32, CancellationToken.None);

        Assert.Equal(first.Partition, second.Partition);
    }

    [Fact]
    public async Task Acquire_SkipsALeasedPartition()
    {
        var a = Leaser("a", new RecordingReader());
        var b = Leaser("b", new RecordingReader());

        await a.AcquireAsync(2, CancellationToken.None);
        await b.AcquireAsync(2, CancellationToken.None);

        Assert.Equal(1 - a.Partition, b.Partition);
        Assert.Equal("b", await _store.GetHolderAsync(Group, b.Partition, CancellationToken.None));
    }

    [Fact]
    public async Task Acquire_WithEveryPartitionLeased_Shares_AndReleasesNothingOfTheHolders()
    {
        var a = Leaser("a", new RecordingReader());
        var reader = new RecordingReader();
        var b = Leaser("b", reader);
        await a.AcquireAsync(1, CancellationToken.None);

        await b.AcquireAsync(1, CancellationToken.None);
        await b.ReleaseAsync();

        Assert.Equal(0, b.Partition);
        Assert.Equal(new[] { "read 0" }, reader.Calls);
        Assert.Equal("a", await _store.GetHolderAsync(Group, 0, CancellationToken.None));
    }

    [Fact]
    public async Task Acquire_WithoutAStore_ReadsTheHomePartition()
    {
        var reader = new RecordingReader();
        var withStore = Leaser("instance-7", new RecordingReader());
        var without = new ReplyPartitionLeaser(null, reader, Options(), "instance-7", "replies", NullLogger.Instance, _stop.Token);

        await withStore.AcquireAsync(16, CancellationToken.None);
        await without.AcquireAsync(16, CancellationToken.None);
        without.StartRenewing();
        await without.ReleaseAsync();

        Assert.Equal(withStore.Partition, without.Partition);
        Assert.Equal(new[] { $"read {without.Partition}" }, reader.Calls);
    }

    [Fact]
    public async Task Acquire_WhileTheStoreIsDown_SharesTheHomePartition_ThenLeasesItOnceTheStoreIsBack()
    {
        var reader = new RecordingReader();
        var leaser = Leaser("a", reader);
        _store.Faults.Unavailable = true;

        await leaser.AcquireAsync(4, CancellationToken.None);
        var home = leaser.Partition;
        leaser.StartRenewing();
        _store.Faults.Unavailable = false;

        await Eventually(async () => await _store.GetHolderAsync(Group, home, CancellationToken.None) == "a");
        Assert.Equal(home, leaser.Partition);
        Assert.Equal(new[] { $"read {home}" }, reader.Calls);
    }

    [Fact]
    public async Task Release_ReleasesTheOwnLease()
    {
        var leaser = Leaser("a", new RecordingReader());
        await leaser.AcquireAsync(4, CancellationToken.None);

        await leaser.ReleaseAsync();

        Assert.Null(await _store.GetHolderAsync(Group, leaser.Partition, CancellationToken.None));
    }

    [Fact]
    public async Task ALostLease_MovesToAFreePartition()
    {
        var reader = new RecordingReader();
        var leaser = Leaser("a", reader);
        await leaser.AcquireAsync(2, CancellationToken.None);
        var first = leaser.Partition;

        // Another instance took the partition (the lease had expired during a pause).
        await _store.ReleaseAsync(Group, first, "a", CancellationToken.None);
        Assert.True(await _store.TryAcquireAsync(Group, first, "x", TimeSpan.FromMinutes(1), CancellationToken.None));
        leaser.StartRenewing();

        await Eventually(() => Task.FromResult(leaser.Partition != first));
        Assert.Equal(1 - first, leaser.Partition);
        Assert.Equal(new[] { $"read {first}", $"stop {first}", $"read {1 - first}" }, reader.Calls);
        Assert.Equal("a", await _store.GetHolderAsync(Group, 1 - first, CancellationToken.None));
    }

    [Fact]
    public async Task AnUnleasedPartitionWithUnreadRecords_IsAdopted_ThenLetGoOnceQuiet()
    {
        var reader = new RecordingReader();
        var leaser = Leaser("a", reader);
        await leaser.AcquireAsync(2, CancellationToken.None);
        var orphan = 1 - leaser.Partition;
        reader.Unread[orphan] = (5, 12);
        leaser.StartRenewing();

        await Eventually(() => Task.FromResult(reader.Calls.Contains($"adopt {orphan}@5")));
        await Eventually(() => Task.FromResult(reader.Calls.Contains($"stop {orphan}")));
        await Eventually(async () => await _store.GetHolderAsync(Group, orphan, CancellationToken.None) is null);

        Assert.Equal(new[] { $"read {leaser.Partition}", $"adopt {orphan}@5", $"stop {orphan}" }, reader.Calls);
        Assert.Equal("a", await _store.GetHolderAsync(Group, leaser.Partition, CancellationToken.None));
    }

    [Fact]
    public async Task ALostLease_NeverMovesToAPartitionHeldAsAnAdopter()
    {
        var reader = new RecordingReader();
        var leaser = Leaser("a", reader);
        await leaser.AcquireAsync(3, CancellationToken.None);
        var own = leaser.Partition;
        var adopted = (own + 1) % 3;
        var free = (own + 2) % 3;
        reader.Unread[adopted] = (0, 1);
        reader.InFlightCount = 1;
        leaser.StartRenewing();
        await Eventually(() => Task.FromResult(reader.Calls.Contains($"adopt {adopted}@0")));

        // The own partition is taken; the next one after it is held as an adopter, so it is not free.
        await _store.ReleaseAsync(Group, own, "a", CancellationToken.None);
        Assert.True(await _store.TryAcquireAsync(Group, own, "x", TimeSpan.FromMinutes(1), CancellationToken.None));

        await Eventually(() => Task.FromResult(leaser.Partition != own));
        Assert.Equal(free, leaser.Partition);
        Assert.Equal(new[] { $"read {own}", $"adopt {adopted}@0", $"stop {own}", $"read {free}" }, reader.Calls);
    }

    [Fact]
    public async Task ALostLease_WithEveryOtherPartitionLeased_TakesOverThePartitionHeldAsAnAdopter_WithoutReadingItTwice()
    {
        // Where "a" starts: the partition its id hashes to.
        var probe = new ReplyPartitionLeaser(new InMemoryReplyPartitionLeaseStore(), new RecordingReader(), Options(), "a", "replies", NullLogger.Instance, _stop.Token);
        await probe.AcquireAsync(3, CancellationToken.None);
        var home = probe.Partition;
        var own = (home + 1) % 3;
        var third = (home + 2) % 3;

        // Its home is leased by another, so it leases the next one; then the home's holder leaves
        // replies behind unread and "a" adopts it.
        Assert.True(await _store.TryAcquireAsync(Group, home, "x", TimeSpan.FromMinutes(1), CancellationToken.None));
        var reader = new RecordingReader();
        var leaser = Leaser("a", reader);
        await leaser.AcquireAsync(3, CancellationToken.None);
        Assert.Equal(own, leaser.Partition);
        Assert.True(await _store.TryAcquireAsync(Group, third, "z", TimeSpan.FromMinutes(1), CancellationToken.None));
        await _store.ReleaseAsync(Group, home, "x", CancellationToken.None);
        reader.Unread[home] = (0, 1);
        reader.InFlightCount = 1;
        leaser.StartRenewing();
        await Eventually(() => Task.FromResult(reader.Calls.Contains($"adopt {home}@0")));

        // Its own lease is taken and no partition is free: the adopted one becomes its own.
        await _store.ReleaseAsync(Group, own, "a", CancellationToken.None);
        Assert.True(await _store.TryAcquireAsync(Group, own, "y", TimeSpan.FromMinutes(1), CancellationToken.None));
        await Eventually(() => Task.FromResult(leaser.Partition != own));
        Assert.Equal(home, leaser.Partition);

        // Read once, and kept once the adoption would have ended (quiet, nothing in flight).
        reader.InFlightCount = 0;
        await Task.Delay(10 * Options().LeaseRenewInterval);
        Assert.Equal(new[] { $"read {own}", $"adopt {home}@0", $"stop {own}" }, reader.Calls);
        Assert.Equal("a", await _store.GetHolderAsync(Group, home, CancellationToken.None));
    }

    [Fact]
    public async Task AnAdoptedPartition_IsKeptWhileRecordsAreInFlight()
    {
        var reader = new RecordingReader();
        var leaser = Leaser("a", reader);
        await leaser.AcquireAsync(2, CancellationToken.None);
        var orphan = 1 - leaser.Partition;
        reader.Unread[orphan] = (0, 1);
        reader.InFlightCount = 1;
        leaser.StartRenewing();

        await Eventually(() => Task.FromResult(reader.Calls.Contains($"adopt {orphan}@0")));
        await Task.Delay(10 * Options().LeaseRenewInterval);

        Assert.DoesNotContain($"stop {orphan}", reader.Calls);
        Assert.Equal("a", await _store.GetHolderAsync(Group, orphan, CancellationToken.None));

        // As on dispose: the renewals stop, then every lease is released.
        _stop.Cancel();
        await leaser.StopAsync();
        await leaser.ReleaseAsync();
        Assert.Null(await _store.GetHolderAsync(Group, leaser.Partition, CancellationToken.None));
        Assert.Null(await _store.GetHolderAsync(Group, orphan, CancellationToken.None));
    }

    private static KafkaTransportOptions Options() => new()
    {
        ClientGroup = Group,
        LeaseTimeToLive = TimeSpan.FromSeconds(30),
        LeaseRenewInterval = TimeSpan.FromMilliseconds(40),
    };

    private ReplyPartitionLeaser Leaser(string instanceId, RecordingReader reader)
    {
        var leaser = new ReplyPartitionLeaser(_store, reader, Options(), instanceId, "replies", NullLogger.Instance, _stop.Token);
        _leasers.Add(leaser);
        return leaser;
    }

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        var until = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, "The condition did not hold within " + Patience);
            await Task.Delay(10);
        }
    }

    private sealed class RecordingReader : IReplyPartitionReader
    {
        private readonly ConcurrentQueue<string> _calls = new();

        public ConcurrentDictionary<int, (long Position, long End)> Unread { get; } = new();

        public int InFlightCount { get; set; }

        public string[] Calls => _calls.ToArray();

        public void Read(int partition) => _calls.Enqueue($"read {partition}");

        public void Adopt(int partition, long position) => _calls.Enqueue($"adopt {partition}@{position}");

        public void Stop(int partition) => _calls.Enqueue($"stop {partition}");

        public bool HasUnread(int partition, out long position, out long end)
        {
            // Reported once: once adopted, the partition's records are read.
            (position, end) = Unread.TryRemove(partition, out var unread) ? unread : (0, 0);
            return position < end;
        }

        public int InFlight(int partition) => InFlightCount;
    }
}
