using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Tests.Support;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// Who writes a plain call's owner record: the caller, until the service's servers say (on a
/// reply) that their claim writes it; then the claim alone — one store operation fewer per call —
/// and the caller again as soon as a reply says the servers stopped.
/// </summary>
public sealed class OwnerRecordTests : IAsyncLifetime
{
    private readonly TestCluster _cluster = new();
    private RecordingStore _store = null!;

    public Task InitializeAsync()
    {
        _store = new RecordingStore(_cluster.Store);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task AfterTheFirstReplySaysSo_PlainCallsLeaveTheirOwnerRecordToTheServersClaim()
    {
        var instance = await _cluster.StartAsync(decorate: UseRecordingStore);

        Assert.Equal(1, await instance.Client.EchoAsync(1, 0));
        Assert.Single(_store.RegisteredByCallers);
        Assert.Equal(_store.RegisteredByCallers.Single(), Assert.Single(_store.ClaimsWithOwner));

        for (var i = 2; i <= 5; i++)
        {
            Assert.Equal(i, await instance.Client.EchoAsync(i, 0));
        }

        // Calls 2–5 wrote nothing themselves; each one's claim wrote its record, naming this
        // caller and its reply address, before the handler ran.
        Assert.Single(_store.RegisteredByCallers);
        Assert.Equal(5, _store.ClaimsWithOwner.Count);
        foreach (var id in _store.ClaimsWithOwner.Skip(1))
        {
            var owner = await _cluster.Store.GetOwnerAsync(id, default);
            Assert.NotNull(owner);
            Assert.Equal("instance-1", owner.InstanceId);
            Assert.Equal(instance.RpcClient.ReplyAddress, owner.ReplyAddress);
        }

        // A stream is a plain call too: its claim records its owner. A call with an idempotency key
        // looks the key's record up and records its owner itself before the send, as before.
        await foreach (var _ in instance.Client.StreamAsync(2, -1, 0))
        {
        }

        Assert.Equal(6, _store.ClaimsWithOwner.Count);
        Assert.Single(_store.RegisteredByCallers);
        await instance.Client.OptionsAsync(0, RpcCallOptions.Default.WithIdempotencyKey("k-" + Guid.NewGuid().ToString("N")));
        Assert.Equal(2, _store.RegisteredByCallers.Count);
        Assert.Equal(6, _store.ClaimsWithOwner.Count);
    }

    [Fact]
    public async Task ServersThatDoNotWriteOwnerRecords_LeaveThemToEveryCall()
    {
        _store.SetRecordsOwners(false);
        var instance = await _cluster.StartAsync(decorate: UseRecordingStore);
        for (var i = 1; i <= 4; i++)
        {
            Assert.Equal(i, await instance.Client.EchoAsync(i, 0));
        }

        Assert.Equal(4, _store.RegisteredByCallers.Count);
        Assert.Empty(_store.ClaimsWithOwner);
        foreach (var id in _store.RegisteredByCallers)
        {
            Assert.Equal("instance-1", (await _cluster.Store.GetOwnerAsync(id, default))?.InstanceId);
        }
    }

    [Fact]
    public async Task AReplyThatSaysTheServersStopped_SendsTheNextCallsBackToWritingTheirOwn()
    {
        var instance = await _cluster.StartAsync(decorate: UseRecordingStore);
        await instance.Client.EchoAsync(1, 0);
        await instance.Client.EchoAsync(2, 0);
        Assert.Single(_store.RegisteredByCallers);

        // The servers stop writing owner records (say, redeployed with claims in another store):
        // the call already sent on trust has no record (its reply still comes straight back); the
        // next ones write their own.
        _store.SetRecordsOwners(false);
        await instance.Client.EchoAsync(3, 0);
        Assert.Single(_store.RegisteredByCallers);
        await instance.Client.EchoAsync(4, 0);
        await instance.Client.EchoAsync(5, 0);
        Assert.Equal(3, _store.RegisteredByCallers.Count);

        _store.SetRecordsOwners(true);
        await instance.Client.EchoAsync(6, 0);
        Assert.Equal(4, _store.RegisteredByCallers.Count);
        await instance.Client.EchoAsync(7, 0);
        Assert.Equal(4, _store.RegisteredByCallers.Count);
    }

    [Fact]
    public async Task AReplyLandingOnAnotherInstance_FindsTheOwnerTheClaimRecorded_AndIsForwardedAtOnce()
    {
        // Replies to the caller go to the second instance, as when the caller's reply partition
        // moved to it: only the owner record tells it where the waiter is.
        var redirect = new RedirectingTransport(_cluster.Transport);
        void Decorate(IServiceCollection services)
        {
            UseRecordingStore(services);
            services.RemoveAll<IRpcTransport>();
            services.AddSingleton<IRpcTransport>(redirect);
        }

        var caller = await _cluster.StartAsync(server: false, decorate: Decorate);
        var other = await _cluster.StartAsync(decorate: Decorate);
        Assert.Equal(1, await caller.Client.EchoAsync(1, 0));
        Assert.Single(_store.RegisteredByCallers);

        redirect.From = caller.RpcClient.ReplyAddress;
        redirect.To = other.RpcClient.ReplyAddress;
        var started = Stopwatch.StartNew();
        Assert.Equal(2, await caller.Client.EchoAsync(2, 0));
        started.Stop();

        // Not found at the deadline (30 s) by the store check: forwarded as soon as it landed.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"took {started.Elapsed}");
        Assert.Single(_store.RegisteredByCallers);
        Assert.Equal(1, redirect.Redirected);
    }

    private void UseRecordingStore(IServiceCollection services) => _store.Use(services);

    /// <summary>The cluster's store, noting who writes owner records; <see cref="RecordsOwners"/> can be turned off.</summary>
    private sealed class RecordingStore(InMemoryOwnershipStore inner) : DelegatingStore(inner)
    {
        private volatile bool _recordsOwners = true;

        public ConcurrentQueue<CorrelationId> RegisteredByCallers { get; } = new();

        public ConcurrentQueue<CorrelationId> ClaimsWithOwner { get; } = new();

        public override bool RecordsOwners => _recordsOwners;

        public void SetRecordsOwners(bool value) => _recordsOwners = value;

        public override ValueTask RegisterOwnerAsync(CorrelationId id, RpcOwner owner, TimeSpan timeToLive, CancellationToken cancellationToken)
        {
            RegisteredByCallers.Enqueue(id);
            return base.RegisterOwnerAsync(id, owner, timeToLive, cancellationToken);
        }

        public override ValueTask<RpcClaim> TryClaimAsync(CorrelationId id, string holder, TimeSpan timeToLive, RpcClaimConditions conditions, CancellationToken cancellationToken)
        {
            if (conditions.Owner is not null)
            {
                ClaimsWithOwner.Enqueue(id);
            }

            return base.TryClaimAsync(id, holder, timeToLive, conditions, cancellationToken);
        }
    }

    /// <summary>Sends the replies addressed to <see cref="From"/> to <see cref="To"/> instead.</summary>
    private sealed class RedirectingTransport(IRpcTransport inner) : DelegatingTransport(inner)
    {
        private int _redirected;

        public RpcReplyAddress? From { get; set; }

        public RpcReplyAddress To { get; set; }

        public int Redirected => Volatile.Read(ref _redirected);

        public override ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken)
        {
            if (address == From)
            {
                Interlocked.Increment(ref _redirected);
                address = To;
            }

            return base.SendReplyAsync(address, reply, cancellationToken);
        }
    }
}
