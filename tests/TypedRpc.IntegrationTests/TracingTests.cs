using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.Diagnostics;
using TypedRpc.IntegrationTests.Redis;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>Client and server spans of one call are joined through the traceparent carried in the Kafka record.</summary>
[Collection(RedisCollection.Name)]
public sealed class TracingTests : IClassFixture<KafkaPairFixture>, IDisposable
{
    private readonly KafkaPairFixture _pair;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public TracingTests(KafkaPairFixture pair)
    {
        _pair = pair;
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RpcTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => _stopped.Enqueue(activity),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task TheServerSpan_IsAChildOfTheClientSpan_AcrossKafka()
    {
        using var root = new Activity("test-root").Start();
        Assert.Equal(7, await _pair.Client.GetRequiredService<IIntegrationService>().AddAsync(3, 4));
        root.Stop();

        var client = await WaitFor(a => a.Kind == ActivityKind.Client && a.TraceId == root.TraceId);
        var server = await WaitFor(a => a.Kind == ActivityKind.Server && a.TraceId == root.TraceId);

        Assert.Equal("integration/Add", client.DisplayName);
        Assert.Equal(root.SpanId, client.ParentSpanId);
        Assert.Equal(client.TraceId, server.TraceId);
        Assert.Equal(client.SpanId, server.ParentSpanId);
        Assert.True(server.HasRemoteParent, "The server span's parent must come from the record's headers, not from this process.");
        Assert.Equal("OK", server.GetTagItem("typedrpc.status"));
        Assert.Equal(client.GetTagItem("typedrpc.correlation_id"), server.GetTagItem("typedrpc.correlation_id"));
    }

    [Fact]
    public async Task AFailedCall_MarksBothSpansAsErrors()
    {
        using var root = new Activity("test-root-2").Start();
        await Assert.ThrowsAsync<RpcException>(() => _pair.Client.GetRequiredService<IIntegrationService>().FailAsync("rpc"));
        root.Stop();

        var client = await WaitFor(a => a.Kind == ActivityKind.Client && a.TraceId == root.TraceId);
        var server = await WaitFor(a => a.Kind == ActivityKind.Server && a.TraceId == root.TraceId);
        Assert.Equal(ActivityStatusCode.Error, client.Status);
        Assert.Equal(ActivityStatusCode.Error, server.Status);
        Assert.Equal("PermissionDenied", server.GetTagItem("typedrpc.status"));
    }

    private async Task<Activity> WaitFor(Func<Activity, bool> match)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < until)
        {
            var found = _stopped.FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("The span did not appear.");
    }
}
