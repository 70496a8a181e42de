using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.InMemory;
using TypedRpc.Tests.Support;
using TypedRpc.Transport;
using Xunit;

namespace TypedRpc.Tests.Engine;

/// <summary>
/// A request or reply handed to the transport is the transport's (IRpcTransport): the engine never
/// writes to it again, which is what lets the in-memory transport deliver it without a copy.
/// </summary>
public sealed class SentMessageTests
{
    [Fact]
    public async Task TheEngine_NeverChangesARequestOrReplyOnceSent()
    {
        await using var cluster = new TestCluster();
        var watcher = new SnapshotTransport(cluster.Transport);
        void Watch(IServiceCollection services) => services.AddSingleton<IRpcTransport>(watcher);
        var server = await cluster.StartAsync(client: false, decorate: Watch);
        var client = await cluster.StartAsync(server: false, decorate: Watch);
        var service = client.Services.GetRequiredService<ITestService>();
        var headers = new Dictionary<string, string> { ["tenant"] = "t1" };

        // Interleaved calls on the same threads (the encoders reuse per-thread buffers): unary,
        // with headers, a stream, a failure and an idempotent call.
        for (var round = 0; round < 20; round++)
        {
            var calls = new List<Task>
            {
                service.EchoAsync(round, 0),
                service.OptionsAsync(0, RpcCallOptions.Default.WithHeaders(headers)),
                service.EffectAsync("key-" + round, 0, RpcCallOptions.Default.WithIdempotencyKey("effect-" + round)),
                ReadAllAsync(service.StreamAsync(3, -1, 0)),
                Assert.ThrowsAnyAsync<RpcException>(() => service.FailAsync("rpc")),
            };
            await Task.WhenAll(calls);
            headers["tenant"] = "t" + (round + 2); // the caller's dictionary changes after its call
        }

        Assert.True(watcher.Requests > 80, $"{watcher.Requests} requests seen");
        Assert.True(watcher.Replies > 100, $"{watcher.Replies} replies seen");
        Assert.Empty(watcher.Changed());
    }

    private static async Task ReadAllAsync(IAsyncEnumerable<int> stream)
    {
        await foreach (var _ in stream)
        {
        }
    }

    /// <summary>Forwards every send, keeping what each message held when it was sent.</summary>
    private sealed class SnapshotTransport(InMemoryRpcTransport inner) : DelegatingTransport(inner)
    {
        private readonly ConcurrentQueue<(object Message, string Sent)> _sent = new();
        private int _requests;
        private int _replies;

        public int Requests => _requests;

        public int Replies => _replies;

        public IEnumerable<string> Changed() => _sent.Where(s => Describe(s.Message) != s.Sent).Select(s => $"{s.Sent} -> {Describe(s.Message)}");

        public override ValueTask SendRequestAsync(RpcServiceDescriptor service, RpcRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            _sent.Enqueue((request, Describe(request)));
            return base.SendRequestAsync(service, request, cancellationToken);
        }

        public override ValueTask SendReplyAsync(RpcReplyAddress address, RpcReply reply, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _replies);
            _sent.Enqueue((reply, Describe(reply)));
            return base.SendReplyAsync(address, reply, cancellationToken);
        }

        private static string Describe(object message) => message switch
        {
            RpcRequest r => $"{r.Id} {Convert.ToHexString(r.Payload.Span)} [{string.Join(",", (r.Headers ?? new Dictionary<string, string>()).Select(h => h.Key + "=" + h.Value))}]",
            RpcReply r => $"{r.Id}/{r.Sequence} {r.Status} {Convert.ToHexString(r.Payload.Span)}",
            _ => "?",
        };
    }
}
