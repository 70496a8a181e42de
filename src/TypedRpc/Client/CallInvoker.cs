using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using TypedRpc.Diagnostics;
using TypedRpc.Serialization;
using TypedRpc.Transport;

namespace TypedRpc.Client;

/// <summary>
/// Makes and sends the calls of one <see cref="RpcClient"/> (its <see cref="IRpcInvoker"/>): per
/// call a correlation id, a waiter in the <see cref="CallTable"/> before anything is sent, the
/// owner recorded through the <see cref="OwnershipTracker"/>, and the request handed to the
/// transport; the outcome becomes the proxy's result.
/// </summary>
internal sealed class CallInvoker
{
    private readonly RpcClient _client;
    private readonly IRpcTransport _transport;
    private readonly IRpcSerializer _serializer;
    private readonly TypedRpcOptions _options;
    private readonly CallTable _calls;
    private readonly OwnershipTracker _ownership;
    private readonly ILogger _logger;

    /// <param name="client">The client whose lifecycle gates the calls (started, stopping) and whose replies answer them.</param>
    /// <param name="transport">Carries the requests.</param>
    /// <param name="serializer">Encodes arguments and decodes replies.</param>
    /// <param name="options">Validated settings.</param>
    /// <param name="calls">Where the calls wait.</param>
    /// <param name="ownership">Records the calls' owner.</param>
    /// <param name="logger">The client's logger.</param>
    public CallInvoker(RpcClient client, IRpcTransport transport, IRpcSerializer serializer, TypedRpcOptions options, CallTable calls, OwnershipTracker ownership, ILogger logger)
    {
        _client = client;
        _transport = transport;
        _serializer = serializer;
        _options = options;
        _calls = calls;
        _ownership = ownership;
        _logger = logger;
    }

    /// <inheritdoc cref="IRpcInvoker.InvokeAsync{TArgs, TResult}"/>
    public ValueTask<TResult> InvokeAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        // Options a scope gives to calls whose own leave a setting unset (RpcCallContext).
        options = RpcCallContext.Apply(options);
        try
        {
            CheckKind(method, RpcMethodKind.Unary);
            if (TryStart(method, args, options, cancellationToken, ResultShapes<TResult>.Value) is { } call)
            {
                return call.Result;
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResult>(ex);
        }

        return InvokeSlowAsync<TArgs, TResult>(method, args, options, cancellationToken);
    }

    /// <inheritdoc cref="IRpcInvoker.InvokeNoResultAsync{TArgs}"/>
    public ValueTask InvokeNoResultAsync<TArgs>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        options = RpcCallContext.Apply(options);
        try
        {
            CheckKind(method, RpcMethodKind.NoResult);
            if (TryStart(method, args, options, cancellationToken, NoResultShape.Create) is { } call)
            {
                return call.Done;
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }

        return InvokeNoResultSlowAsync(method, args, options, cancellationToken);
    }

    /// <inheritdoc cref="IRpcInvoker.InvokeForResultAsync{TArgs, TResult}"/>
    public ValueTask<RpcResult<TResult>> InvokeForResultAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        options = RpcCallContext.Apply(options);
        try
        {
            CheckKind(method, RpcMethodKind.Unary);
            if (TryStart(method, args, options, cancellationToken, ResultShapes<TResult>.ForResult) is { } call)
            {
                return call.Result;
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<RpcResult<TResult>>(ex);
        }

        return InvokeForResultSlowAsync<TArgs, TResult>(method, args, options, cancellationToken);
    }

    /// <inheritdoc cref="IRpcInvoker.InvokeStreaming{TArgs, TResult}"/>
    public IAsyncEnumerable<TResult> InvokeStreaming<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        options = RpcCallContext.Apply(options);
        CheckKind(method, RpcMethodKind.ServerStreaming);
        return StreamAsync<TArgs, TResult>(method, args, options, cancellationToken, default);
    }

    private async ValueTask<TResult> InvokeSlowAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        var outcome = await CallAsync(method, args, options, cancellationToken).ConfigureAwait(false);
        return outcome.DecodeValue<TResult>(method, _serializer);
    }

    private async ValueTask InvokeNoResultSlowAsync<TArgs>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        var outcome = await CallAsync(method, args, options, cancellationToken).ConfigureAwait(false);
        outcome.Unwrap(method);
    }

    private async ValueTask<RpcResult<TResult>> InvokeForResultSlowAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        var outcome = await CallAsync(method, args, options, cancellationToken).ConfigureAwait(false);
        return outcome.ToResult<TResult>(_serializer);
    }

    /// <summary>
    /// Starts a plain call (no idempotency key, a free in-flight slot, the client started) without
    /// an async frame: the call object itself is what the caller awaits, so a waiting call costs
    /// that object and its table entry. Anything else returns <see langword="null"/> and takes
    /// the general path (<see cref="CallAsync"/>).
    /// </summary>
    private UnaryCall<TOut>? TryStart<TArgs, TOut>(RpcMethodDescriptor method, TArgs args, in RpcCallOptions options, CancellationToken cancellationToken, UnaryCallFactory<TOut> create)
        where TArgs : struct, IRpcArguments
    {
        if (!_client.IsServing || options.IdempotencyKey is not null || cancellationToken.IsCancellationRequested
            || options.CancellationToken.IsCancellationRequested || !_calls.TryTakeSlot())
        {
            return null;
        }

        long deadlineMs, deadlineUnixMs;
        try
        {
            (deadlineMs, deadlineUnixMs) = CallBounds.Unary(method, options, _options);
        }
        catch
        {
            _calls.ReturnSlot();
            throw;
        }

        var id = CorrelationId.NewId();
        var started = Stopwatch.GetTimestamp();
        var previous = Activity.Current;
        var activity = RpcTracing.StartClient(method, id);
        var call = create(_calls, id, method, deadlineMs);
        call.HoldsSlot = true;
        call.RecordFrom = started;
        if (activity is not null)
        {
            call.SetSpan(activity);
        }

        CallBounds.LimitWait(call, options);
        try
        {
            _calls.Add(call);
            call.RegisterCancellation(cancellationToken, options.CancellationToken, CallBounds.RemoteCancelDeadline(options, deadlineUnixMs));
            EncodeAndSend(call, method, args, deadlineUnixMs, options, activity);
            return call;
        }
        finally
        {
            if (activity is not null)
            {
                // This method is not async: the span must not stay current in the caller's context.
                Activity.Current = previous;
            }
        }
    }

    /// <summary>The general path of a unary call: idempotent (joined when in flight here), waiting for a slot, or the client's first.</summary>
    private async ValueTask<CallResult> CallAsync<TArgs>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options, CancellationToken cancellationToken)
        where TArgs : struct, IRpcArguments
    {
        cancellationToken.ThrowIfCancellationRequested();
        options.CancellationToken.ThrowIfCancellationRequested();
        await _client.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);

        var (deadlineMs, deadlineUnixMs) = CallBounds.Unary(method, options, _options);
        var id = NewId(method, options);

        // An idempotent call already in flight on this instance is joined, not sent again — if it
        // is the same request: the key was not made for another one.
        if (options.IdempotencyKey is not null && _calls.TryGetValue(id, out var existing) && existing is UnaryCall joined)
        {
            if (joined.Fingerprint is { } first && first != RequestFingerprint.Of(method, args, id, _serializer))
            {
                throw new RpcException(RpcIdempotency.KeyReusedStatus, id.ToString());
            }

            var joinedOutcome = await joined.JoinAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            return new CallResult(id, joinedOutcome, joined.CancelledBy);
        }

        var started = Stopwatch.GetTimestamp();
        using var activity = RpcTracing.StartClient(method, id);
        var call = new UnaryCall(_calls, id, method, deadlineMs);
        if (options.IdempotencyKey is not null)
        {
            // Known before the call is in the table: a second caller of the key compares with it.
            call.Fingerprint = RequestFingerprint.Of(method, args, id, _serializer);
        }

        CallBounds.LimitWait(call, options);
        await _calls.AcquireSlotAsync(call, deadlineMs, cancellationToken, options.CancellationToken).ConfigureAwait(false);
        _calls.Add(call);
        call.RegisterCancellation(cancellationToken, options.CancellationToken, CallBounds.RemoteCancelDeadline(options, deadlineUnixMs));
        EncodeAndSend(call, method, args, deadlineUnixMs, options, activity);
        var outcome = await call.Completion.ConfigureAwait(false);
        RpcMetrics.RecordClient(method, outcome.Status.StatusCode, started);
        RpcTracing.End(activity, outcome.Status.StatusCode);
        return new CallResult(id, outcome, call.CancelledBy);
    }

    private async IAsyncEnumerable<TResult> StreamAsync<TArgs, TResult>(RpcMethodDescriptor method, TArgs args, RpcCallOptions options,
        CancellationToken cancellationToken, [EnumeratorCancellation] CancellationToken enumeratorToken)
        where TArgs : struct, IRpcArguments
    {
        cancellationToken.ThrowIfCancellationRequested();
        enumeratorToken.ThrowIfCancellationRequested();
        await _client.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var (deadlineMs, deadlineUnixMs, firstDueMs, idle) = CallBounds.Stream(method, options, _options);
        var id = NewId(method, options);
        var started = Stopwatch.GetTimestamp();
        using var activity = RpcTracing.StartClient(method, id);
        var endStatus = RpcStatusCode.Unknown;
        var call = new StreamCall(_calls, id, method, deadlineMs, firstDueMs, idle);

        await _calls.AcquireSlotAsync(call, firstDueMs, cancellationToken, options.CancellationToken).ConfigureAwait(false);
        _calls.Add(call);

        // Kept whatever the tokens (a stream that ends early for any reason tells its server) —
        // once registered: a call refused as a duplicate of one in flight must not cancel that one.
        call.KeepRequestDeadline(deadlineUnixMs);
        call.RegisterCancellation(cancellationToken, enumeratorToken, deadlineUnixMs);

        // The options' token is a third source of cancellation; it is rare, so it gets its own registration.
        using var optionsRegistration = options.CancellationToken.CanBeCanceled
            ? options.CancellationToken.UnsafeRegister(static s => ((StreamCall)s!).TryEnd(CallState.Cancelled, new RpcStatus(RpcStatusCode.Cancelled, "The call was cancelled by the caller.")), call)
            : default;

        EncodeAndSend(call, method, args, deadlineUnixMs, options, activity);
        try
        {
            var reader = call.Messages;
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (reader.TryRead(out var message))
                {
                    if (message.HasValue)
                    {
                        yield return DecodeItem<TResult>(call, message);
                    }

                    if (message.Status != RpcStatusCode.OK)
                    {
                        endStatus = message.Status;
                        throw new RpcException(message.ToStatus(), id.ToString());
                    }

                    if (message.IsEnd)
                    {
                        endStatus = RpcStatusCode.OK;
                        yield break;
                    }
                }
            }

            // The channel closed without the server's end message: the call ended locally.
            throw EndedLocally(call);
        }
        finally
        {
            // The consumer stopped early (break, dispose, exception): release the waiter now.
            call.TryEnd(CallState.Cancelled, new RpcStatus(RpcStatusCode.Cancelled, "The consumer stopped reading the stream."));
            var status = endStatus != RpcStatusCode.Unknown ? endStatus : call.LocalEnd?.StatusCode ?? RpcStatusCode.Cancelled;
            RpcMetrics.RecordClient(method, status, started);
            RpcTracing.End(activity, status);
        }
    }

    /// <summary>A stream item decoded; one that cannot be fails the stream with DataLoss.</summary>
    private TResult DecodeItem<TResult>(StreamCall call, RpcReply message)
    {
        try
        {
            return PayloadCodec.DecodeValue<TResult>(message.Payload, _serializer, call.Id);
        }
        catch (RpcException)
        {
            call.TryEnd(CallState.Failed, new RpcStatus(RpcStatusCode.DataLoss, "A stream message could not be decoded."));
            throw;
        }
    }

    /// <summary>What a stream that ended here (not by its server's end message) throws to its reader.</summary>
    private static Exception EndedLocally(StreamCall call) => call.State == CallState.Cancelled
        ? new OperationCanceledException("The stream was cancelled by the caller.", call.CancelledBy)
        : new RpcException(call.LocalEnd ?? new RpcStatus(RpcStatusCode.Unknown, "The stream ended."), call.Id.ToString());

    /// <summary>Encodes the arguments of a registered call and sends its request without awaiting the send.</summary>
    private void EncodeAndSend<TArgs>(PendingCall call, RpcMethodDescriptor method, TArgs args, long deadlineUnixMs, in RpcCallOptions options, Activity? activity)
        where TArgs : struct, IRpcArguments
    {
        // Encoding is the caller's code (serializers, argument types): its errors are the caller's.
        byte[] payload;
        try
        {
            payload = PayloadCodec.EncodeArguments(args, _serializer);
        }
        catch (Exception ex)
        {
            call.TryEnd(CallState.Failed, new RpcStatus(RpcStatusCode.InvalidArgument, "The arguments could not be serialized."));
            throw new RpcException(new RpcStatus(RpcStatusCode.InvalidArgument, "The arguments could not be serialized: " + ex.Message), call.Id.ToString(), ex);
        }

        if (options.IdempotencyKey is not null && call.Fingerprint is null)
        {
            call.Fingerprint = RequestFingerprint.Of(method, payload);
        }

        _ = SendAsync(call, method, args.Key, payload, deadlineUnixMs, options, activity);
    }

    private async Task SendAsync(PendingCall call, RpcMethodDescriptor method, string? key, byte[] payload, long deadlineUnixMs, RpcCallOptions options, Activity? activity)
    {
        // The client span (or the caller's own, when nobody listens to TypedRpc) travels with the request.
        var trace = activity ?? Activity.Current;
        Task? registering = null;
        long ownerUntil = 0;
        try
        {
            if (_ownership.Enabled && options.IdempotencyKey is null && call.WaitUntilMs == long.MaxValue)
            {
                // Nothing can be stored for a new id yet, so there is nothing to look up first. The
                // request asks the server's claim to write the owner record (before the handler
                // runs, so before any reply exists); once the service's servers have said they do,
                // the caller leaves it to them — one store operation fewer per call. Until then it
                // also writes the record itself, while the request goes out: a reply that beats
                // that write to the store is kept as unknown and found at the deadline, and a failed
                // write fails the call Unavailable (possibly after the server got the request, as
                // gRPC's UNAVAILABLE allows).
                ownerUntil = _ownership.OwnerRecordUntil(deadlineUnixMs, method);
                call.AskedServerForOwner = true;
                if (!_ownership.RecordedByServers(method.Service.ServiceName))
                {
                    registering = _ownership.RegisterAlongsideAsync(call, method);
                }
            }
            else if (_ownership.Enabled && !await _ownership.RegisterAsync(call, method, idempotent: options.IdempotencyKey is not null).ConfigureAwait(false))
            {
                return;
            }

            var request = new RpcRequest
            {
                Id = call.Id,
                Service = method.Service.ServiceName,
                Method = method.Name,
                ReplyTo = _client.ReplyAddress,
                Owner = _options.InstanceId,
                DeadlineUnixMs = deadlineUnixMs,
                Payload = payload,
                Key = key,
                // The request is the transport's once sent: the caller's dictionary may change later.
                Headers = options.Headers is { Count: > 0 } headers ? new Dictionary<string, string>(headers, StringComparer.Ordinal) : null,
                TraceParent = trace?.IdFormat == ActivityIdFormat.W3C ? trace.Id : null,
                TraceState = trace?.TraceStateString,
                Fingerprint = call.Fingerprint,
                OwnerRecordUntilUnixMs = ownerUntil,
            };
            await _transport.SendRequestAsync(method.Service, request, CancellationToken.None).ConfigureAwait(false);
            if (registering is not null)
            {
                await registering.ConfigureAwait(false);
            }

            if (call.WaitUntilMs != long.MaxValue && !call.IsTerminal)
            {
                // The caller waits less than the deadline: only now that the request is out (so the
                // server will run it) may the wait end; a past time fires on the next tick.
                _calls.Schedule(call, call.WaitUntilMs);
            }
        }
        catch (Exception ex)
        {
            Log.SendFailed(_logger, ex, call.Id, method.FullName);
            // A transport's RpcException is a verdict on the call (say, too large): keep its status.
            call.TryEnd(CallState.Failed, ex is RpcException rpc ? rpc.Status : new RpcStatus(RpcStatusCode.Unavailable, "The call could not be sent: " + ex.Message));
        }
    }

    /// <summary>The call's correlation id: from its idempotency key (the same on every instance), else a new one.</summary>
    private static CorrelationId NewId(RpcMethodDescriptor method, in RpcCallOptions options) =>
        options.IdempotencyKey is { } key ? CorrelationId.FromIdempotencyKey(method.FullName, key) : CorrelationId.NewId();

    private static void CheckKind(RpcMethodDescriptor method, RpcMethodKind kind)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Kind != kind)
        {
            throw new ArgumentException($"Method '{method.FullName}' is {method.Kind}, not {kind}.", nameof(method));
        }
    }
}
