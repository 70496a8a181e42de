using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.Client;
using TypedRpc.InMemory;
using TypedRpc.Ownership;
using TypedRpc.Serialization;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary><see cref="RpcResults"/> on its own: an in-memory store and a stand-in for the client, no transport.</summary>
public sealed class RpcResultsTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(1);

    private readonly InMemoryOwnershipStore _store = new();
    private readonly JsonRpcSerializer _serializer = new();
    private readonly StandInClient _client;
    private readonly RpcResults _results;

    public RpcResultsTests()
    {
        _client = new StandInClient(_store);
        _results = new RpcResults(_store, _serializer, new TypedRpcOptions { InstanceId = StandInClient.InstanceId }, _client);
    }

    [Fact]
    public async Task Get_NothingStored_IsPendingWithTheId()
    {
        var id = CorrelationId.NewId().ToString();

        var result = await _results.GetAsync<string>(id);

        Assert.True(result.IsPending);
        Assert.Equal(id, result.CorrelationId);
    }

    [Fact]
    public async Task Get_AStoredValue_IsCompletedWithTheDecodedValue()
    {
        var id = CorrelationId.NewId();
        await _store.StoreReplyAsync(ValueReply(id, "hello"), Ttl, null, default);

        var result = await _results.GetAsync<string>(id.ToString());

        Assert.True(result.IsCompleted);
        Assert.Equal("hello", result.Value);
        Assert.Equal(id.ToString(), result.CorrelationId);
    }

    [Fact]
    public async Task Get_AStoredFailure_IsFailedWithItsStatus()
    {
        var id = CorrelationId.NewId();
        await _store.StoreReplyAsync(RpcReply.Error(id, new RpcStatus(RpcStatusCode.NotFound, "no such price")), Ttl, null, default);

        var result = await _results.GetAsync<string>(id.ToString());

        Assert.True(result.IsFailed);
        Assert.Equal(RpcStatusCode.NotFound, result.Status.StatusCode);
        Assert.Equal("no such price", result.Status.Detail);
    }

    [Fact]
    public async Task Get_AnEndWithoutValue_IsCompletedWithTheDefault()
    {
        var id = CorrelationId.NewId();
        await _store.StoreReplyAsync(new RpcReply { Id = id, IsEnd = true }, Ttl, null, default);

        var result = await _results.GetAsync<int>(id.ToString());

        Assert.True(result.IsCompleted);
        Assert.Equal(0, result.Value);
    }

    [Fact]
    public async Task Get_AValueThatCannotBeDecoded_IsFailedWithDataLoss()
    {
        var id = CorrelationId.NewId();
        await _store.StoreReplyAsync(new RpcReply { Id = id, IsEnd = true, HasValue = true, Payload = Encoding.UTF8.GetBytes("\"not a number\"") }, Ttl, null, default);

        var result = await _results.GetAsync<int>(id.ToString());

        Assert.True(result.IsFailed);
        Assert.Equal(RpcStatusCode.DataLoss, result.Status.StatusCode);
    }

    [Fact]
    public async Task Get_WhatIsNotACorrelationId_ThrowsArgumentException()
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await _results.GetAsync<string>("not-an-id"));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await _results.GetAsync<string>(null!));
    }

    [Fact]
    public async Task Get_TheStoreDown_ThrowsUnavailable()
    {
        _store.Faults.Unavailable = true;
        var id = CorrelationId.NewId().ToString();

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await _results.GetAsync<string>(id));

        Assert.Equal(RpcStatusCode.Unavailable, ex.StatusCode);
        Assert.Equal(id, ex.CorrelationId);
    }

    [Fact]
    public async Task WithoutAStore_OrWithOwnershipOff_LookupsThrowInvalidOperation()
    {
        var id = CorrelationId.NewId().ToString();
        var noStore = new RpcResults(null, _serializer, new TypedRpcOptions(), _client);
        var ownershipOff = new RpcResults(_store, _serializer, new TypedRpcOptions { EnableOwnership = false }, _client);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await noStore.GetAsync<string>(id));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await ownershipOff.WaitAsync<string>(id, TimeSpan.FromSeconds(1)));
        Assert.Equal(0, _client.Starts);
    }

    [Fact]
    public async Task Wait_TakesTheIdOver_AndReturnsTheResultOnceWoken()
    {
        var id = CorrelationId.NewId();
        var clock = Stopwatch.StartNew();
        var waiting = _results.WaitAsync<string>(id.ToString(), TimeSpan.FromSeconds(30)).AsTask();

        // Once the wait has made this instance the owner, polls back off towards a second apart: a
        // result stored then is found at once only through the wake-up.
        await Eventually(() => _client.TakeOvers.TryPeek(out _));
        Assert.Equal(StandInClient.InstanceId, (await _store.GetOwnerAsync(id, default))?.InstanceId);
        Assert.True(_client.TakeOvers.TryPeek(out var takeOver));
        Assert.Equal((id, TimeSpan.FromSeconds(30)), takeOver);
        Assert.Equal(1, _client.Starts);
        await Task.Delay(1_600);
        Assert.False(waiting.IsCompleted);

        await _store.StoreReplyAsync(ValueReply(id, "late"), Ttl, null, default);
        var woken = Stopwatch.StartNew();
        _client.Watchers.Wake(id);
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("late", result.Value);
        Assert.InRange(woken.ElapsedMilliseconds, 0, 500);
        Assert.InRange(clock.ElapsedMilliseconds, 1_600, 29_000);
        Assert.Equal(0, _client.Watchers.Count);
    }

    [Fact]
    public async Task Wait_NothingArrives_IsPendingOnceTheTimeoutPasses()
    {
        var id = CorrelationId.NewId().ToString();
        var clock = Stopwatch.StartNew();

        var result = await _results.WaitAsync<string>(id, TimeSpan.FromMilliseconds(300));

        Assert.True(result.IsPending);
        Assert.Equal(id, result.CorrelationId);
        Assert.InRange(clock.ElapsedMilliseconds, 290, 5_000);
        Assert.Equal(0, _client.Watchers.Count);
    }

    [Fact]
    public async Task Wait_AResultAlreadyStored_ReturnsAtOnce()
    {
        var id = CorrelationId.NewId();
        await _store.StoreReplyAsync(ValueReply(id, "stored"), Ttl, null, default);

        var result = await _results.WaitAsync<string>(id.ToString(), TimeSpan.FromSeconds(30)).AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal("stored", result.Value);
    }

    [Fact]
    public async Task Wait_ANegativeTimeout_ThrowsArgumentOutOfRange()
    {
        var id = CorrelationId.NewId().ToString();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await _results.WaitAsync<string>(id, TimeSpan.FromMilliseconds(-1)));
        Assert.Equal(0, _client.Starts);
    }

    [Fact]
    public async Task Wait_TheOwnerCannotBeRecorded_ThrowsUnavailable()
    {
        _store.Faults.Unavailable = true;
        var id = CorrelationId.NewId().ToString();

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await _results.WaitAsync<string>(id, TimeSpan.FromSeconds(5)));

        Assert.Equal(RpcStatusCode.Unavailable, ex.StatusCode);
        Assert.StartsWith("The ownership store could not be written", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(id, ex.CorrelationId);
        Assert.Equal(0, _client.Watchers.Count);
    }

    [Fact]
    public async Task Wait_TheClientCannotStart_ThrowsItsErrorAsItIs()
    {
        var refusal = new RpcException(new RpcStatus(RpcStatusCode.Unavailable, "The client is shutting down."), null);
        _client.StartFailure = refusal;

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await _results.WaitAsync<string>(CorrelationId.NewId().ToString(), TimeSpan.FromSeconds(5)));

        Assert.Same(refusal, ex);
        Assert.True(_client.TakeOvers.IsEmpty);
        Assert.Equal(0, _client.Watchers.Count);
    }

    [Fact]
    public async Task Wait_Cancelled_ThrowsOperationCanceled()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await _results.WaitAsync<string>(CorrelationId.NewId().ToString(), TimeSpan.FromSeconds(30), cancel.Token));
        Assert.Equal(0, _client.Watchers.Count);
    }

    private RpcReply ValueReply(CorrelationId id, string value) =>
        new() { Id = id, IsEnd = true, HasValue = true, Payload = PayloadCodec.EncodeValue(value, _serializer) };

    private static async Task Eventually(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "Timed out waiting for the condition.");
            await Task.Delay(5);
        }
    }

    /// <summary>Stands in for the client: records its owner in the store and counts the starts it was asked for.</summary>
    private sealed class StandInClient(IRpcOwnershipStore store) : IResultOwnership
    {
        public const string InstanceId = "results-test";

        private int _starts;

        public ConcurrentQueue<(CorrelationId Id, TimeSpan Waited)> TakeOvers { get; } = new();

        public int Starts => Volatile.Read(ref _starts);

        public Exception? StartFailure { get; set; }

        public ResultWatchers Watchers { get; } = new();

        public ValueTask EnsureStartedAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _starts);
            return StartFailure is { } failure ? ValueTask.FromException(failure) : default;
        }

        public async ValueTask TakeOverAsync(CorrelationId id, TimeSpan waited, CancellationToken cancellationToken)
        {
            await store.RegisterOwnerAsync(id, new RpcOwner(InstanceId, new RpcReplyAddress("replies." + InstanceId)), waited, cancellationToken);
            TakeOvers.Enqueue((id, waited));
        }
    }
}
