using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc.Tests.Support;

/// <summary>An <see cref="RpcServerCall"/> that records the replies a dispatcher sends.</summary>
internal sealed class CapturingCall : RpcServerCall
{
    private readonly TestContext _context;

    public CapturingCall(RpcMethodDescriptor method, byte[] payload, IRpcSerializer serializer)
    {
        _context = new TestContext(method);
        Payload = payload;
        Serializer = serializer;
    }

    public override RpcServerCallContext Context => _context;

    public override ReadOnlyMemory<byte> Payload { get; }

    public override IRpcSerializer Serializer { get; }

    public List<byte[]> Replies { get; } = new();

    public bool Acknowledged { get; private set; }

    public bool StreamEnded { get; private set; }

    public byte[] SingleReply() => Replies.Count == 1 ? Replies[0] : throw new InvalidOperationException($"Expected one reply, got {Replies.Count}.");

    public override ValueTask ReplyAsync<T>(T value)
    {
        Replies.Add(Write(value));
        return ValueTask.CompletedTask;
    }

    public override ValueTask ReplyAsync()
    {
        Acknowledged = true;
        return ValueTask.CompletedTask;
    }

    public override async ValueTask ReplyStreamAsync<T>(IAsyncEnumerable<T> items)
    {
        await foreach (var item in items.WithCancellation(_context.CancellationToken))
        {
            Replies.Add(Write(item));
        }

        StreamEnded = true;
    }

    private byte[] Write<T>(T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Serializer.Serialize(writer, value);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private sealed class TestContext(RpcMethodDescriptor method) : RpcServerCallContext
    {
        public override string CorrelationId { get; } = Guid.NewGuid().ToString("N");

        public override RpcMethodDescriptor Method => method;

        public override DateTimeOffset Deadline { get; } = DateTimeOffset.UtcNow.AddSeconds(30);

        public override IReadOnlyDictionary<string, string> RequestHeaders { get; } = new Dictionary<string, string>();

        public override CancellationToken CancellationToken => CancellationToken.None;
    }
}
