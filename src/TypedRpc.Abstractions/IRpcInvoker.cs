using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace TypedRpc;

/// <summary>
/// Sends calls and waits for their replies. Generated client proxies call it; the runtime
/// implements it (over Kafka and Redis, or in memory for tests).
/// </summary>
/// <remarks>
/// The <c>TArgs</c> type argument is a generated struct, so the arguments are passed without
/// boxing. The <c>cancellationToken</c> argument is the method's own <see cref="CancellationToken"/>
/// parameter, if any; <see cref="RpcCallOptions.CancellationToken"/> is honoured as well.
/// </remarks>
public interface IRpcInvoker
{
    /// <summary>Calls a method that returns a value.</summary>
    /// <typeparam name="TArgs">The generated argument struct.</typeparam>
    /// <typeparam name="TResult">The reply type.</typeparam>
    /// <param name="method">The method.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="options">The call options.</param>
    /// <param name="cancellationToken">The method's cancellation token.</param>
    /// <returns>The reply.</returns>
    /// <exception cref="RpcException">The call did not complete with OK.</exception>
    ValueTask<TResult> InvokeAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments;

    /// <summary>Calls a method that returns no value; completes when the server acknowledges it.</summary>
    /// <typeparam name="TArgs">The generated argument struct.</typeparam>
    /// <param name="method">The method.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="options">The call options.</param>
    /// <param name="cancellationToken">The method's cancellation token.</param>
    /// <returns>A task that completes on the acknowledgement.</returns>
    /// <exception cref="RpcException">The call did not complete with OK.</exception>
    ValueTask InvokeNoResultAsync<TArgs>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments;

    /// <summary>Calls a method that returns <see cref="RpcResult{T}"/>: a timeout yields Pending and a failure yields Failed, instead of an exception.</summary>
    /// <typeparam name="TArgs">The generated argument struct.</typeparam>
    /// <typeparam name="TResult">The reply type.</typeparam>
    /// <param name="method">The method.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="options">The call options.</param>
    /// <param name="cancellationToken">The method's cancellation token.</param>
    /// <returns>The result.</returns>
    ValueTask<RpcResult<TResult>> InvokeForResultAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments;

    /// <summary>Calls a streaming method; the request is sent when enumeration starts.</summary>
    /// <typeparam name="TArgs">The generated argument struct.</typeparam>
    /// <typeparam name="TResult">The stream item type.</typeparam>
    /// <param name="method">The method.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="options">The call options.</param>
    /// <param name="cancellationToken">The method's cancellation token.</param>
    /// <returns>The reply messages, in order.</returns>
    IAsyncEnumerable<TResult> InvokeStreaming<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments;
}
