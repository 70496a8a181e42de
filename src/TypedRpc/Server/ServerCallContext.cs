using System;
using System.Collections.Generic;
using System.Threading;
using TypedRpc.Transport;

namespace TypedRpc.Server;

/// <summary>The context a handler sees. Its token is created only when a handler asks for it.</summary>
internal sealed class ServerCallContext : RpcServerCallContext, IDisposable
{
    private static readonly IReadOnlyDictionary<string, string> s_noHeaders = new Dictionary<string, string>();
    private readonly RpcRequest _request;
    private readonly CancellationToken _serverStopping;
    private readonly HeldClaim? _claim;
    private CancellationTokenSource? _cancellation;
    private string? _id;

    public ServerCallContext(RpcRequest request, RpcMethodDescriptor method, CancellationToken serverStopping, HeldClaim? claim = null)
    {
        _claim = claim;
        _request = request;
        Method = method;
        _serverStopping = serverStopping;
        Deadline = DateTimeOffset.FromUnixTimeMilliseconds(request.DeadlineUnixMs);
    }

    public override string CorrelationId => _id ??= _request.Id.ToString();

    public override RpcMethodDescriptor Method { get; }

    public override DateTimeOffset Deadline { get; }

    public override IReadOnlyDictionary<string, string> RequestHeaders => _request.Headers ?? s_noHeaders;

    public override CancellationToken CancellationToken
    {
        get
        {
            if (_cancellation is null)
            {
                // Cancelled at the caller's deadline, when the server stops, when the caller cancels,
                // or when this delivery's claim is lost or cannot be confirmed (another delivery may
                // take the request over).
                var cts = _claim is not null
                    ? CancellationTokenSource.CreateLinkedTokenSource(_serverStopping, _claim.FenceToken)
                    : CancellationTokenSource.CreateLinkedTokenSource(_serverStopping);
                var remaining = Deadline - DateTimeOffset.UtcNow;
                cts.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
                _cancellation = cts;
            }

            return _cancellation.Token;
        }
    }

    /// <summary>Whether the handler's token fired because the caller's deadline passed.</summary>
    /// <remarks>
    /// The token's timer may fire a little before the wall clock reaches the deadline (timer and
    /// clock differ by up to a tick), so a token cancelled by neither the stop nor the fence counts
    /// too — otherwise a handler cut off at its deadline would be reported as Internal.
    /// </remarks>
    public bool DeadlinePassed =>
        DateTimeOffset.UtcNow >= Deadline
        || (_cancellation is { IsCancellationRequested: true }
            && !_serverStopping.IsCancellationRequested
            && _claim is not { Fenced: true } and not { CancelledByCaller: true });

    public void Dispose() => _cancellation?.Dispose();
}
