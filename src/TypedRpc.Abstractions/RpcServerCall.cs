using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace TypedRpc;

/// <summary>
/// One request handed to a generated dispatcher, and the way back for its reply. The runtime
/// implements it; the dispatcher decodes the arguments from <see cref="Payload"/>, calls the
/// user's override and hands the result to one of the reply methods.
/// </summary>
public abstract class RpcServerCall
{
    /// <summary>The call's context, passed to the user's override.</summary>
    public abstract RpcServerCallContext Context { get; }

    /// <summary>The method being called.</summary>
    public RpcMethodDescriptor Method => Context.Method;

    /// <summary>The request's argument object (UTF-8 JSON).</summary>
    public abstract ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Decodes the arguments.</summary>
    public abstract IRpcSerializer Serializer { get; }

    /// <summary>Sends the reply of a method that returns a value.</summary>
    /// <typeparam name="T">The reply type.</typeparam>
    /// <param name="value">The reply.</param>
    /// <returns>A task that completes when the reply has been handed to the transport.</returns>
    public abstract ValueTask ReplyAsync<T>(T value);

    /// <summary>Sends the acknowledgement of a method that returns no value.</summary>
    /// <returns>A task that completes when the acknowledgement has been handed to the transport.</returns>
    public abstract ValueTask ReplyAsync();

    /// <summary>Sends each item of a streaming method, then the end-of-stream message.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="items">The items, produced by the user's override.</param>
    /// <returns>A task that completes when the end-of-stream message has been handed to the transport.</returns>
    public abstract ValueTask ReplyStreamAsync<T>(IAsyncEnumerable<T> items);
}
