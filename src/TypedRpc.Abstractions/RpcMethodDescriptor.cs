using System;
using System.Collections.Generic;

namespace TypedRpc;

/// <summary>Describes one method of a contract. Created by generated code.</summary>
public sealed class RpcMethodDescriptor
{
    private RpcServiceDescriptor? _service;

    /// <summary>Creates a method descriptor.</summary>
    /// <param name="index">The method's position in its service's <see cref="RpcServiceDescriptor.Methods"/>.</param>
    /// <param name="name">The stable wire name (the C# name without its <c>Async</c> suffix).</param>
    /// <param name="clrName">The method's C# name.</param>
    /// <param name="kind">How the reply is shaped.</param>
    /// <param name="responseType">The type of the reply value (or stream item); <see langword="null"/> for <see cref="RpcMethodKind.NoResult"/>.</param>
    /// <param name="timeoutMs">The timeout from <see cref="RpcTimeoutAttribute"/>, or 0 when the method has none.</param>
    /// <param name="extendByMs">The one-time extension after the timeout, or 0.</param>
    /// <param name="returnsRpcResult"><see langword="true"/> when the method returns <c>RpcResult&lt;T&gt;</c>, so a timeout yields a Pending result.</param>
    /// <param name="hasKey"><see langword="true"/> when one parameter is marked <see cref="RpcKeyAttribute"/>.</param>
    /// <param name="parameters">The arguments sent to the server, in declaration order; <see langword="null"/> when not known (code from an older generator).</param>
    /// <exception cref="ArgumentException">An argument is out of range.</exception>
    public RpcMethodDescriptor(int index, string name, string clrName, RpcMethodKind kind, Type? responseType,
        int timeoutMs, int extendByMs, bool returnsRpcResult, bool hasKey, IReadOnlyList<RpcParameterDescriptor>? parameters = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(clrName);
        ArgumentOutOfRangeException.ThrowIfNegative(timeoutMs);
        ArgumentOutOfRangeException.ThrowIfNegative(extendByMs);
        if ((kind == RpcMethodKind.NoResult) != (responseType is null))
        {
            throw new ArgumentException("A response type is required exactly when the method returns a value.", nameof(responseType));
        }

        Index = index;
        Name = name;
        ClrName = clrName;
        Kind = kind;
        ResponseType = responseType;
        Timeout = timeoutMs == 0 ? null : TimeSpan.FromMilliseconds(timeoutMs);
        ExtendBy = TimeSpan.FromMilliseconds(extendByMs);
        ReturnsRpcResult = returnsRpcResult;
        HasKey = hasKey;
        Parameters = parameters ?? [];
    }

    /// <summary>The service this method belongs to.</summary>
    public RpcServiceDescriptor Service => _service ?? throw new InvalidOperationException($"Method '{Name}' has not been added to a service descriptor.");

    /// <summary>The method's position in <see cref="RpcServiceDescriptor.Methods"/>; stable within one build of the contract.</summary>
    public int Index { get; }

    /// <summary>The stable wire name, unique within the service.</summary>
    public string Name { get; }

    /// <summary>The method's C# name.</summary>
    public string ClrName { get; }

    /// <summary>The wire id <c>service/method</c>, sent in the <c>trpc-method</c> header.</summary>
    public string FullName => field ??= Service.ServiceName + "/" + Name;

    /// <summary>How the reply is shaped.</summary>
    public RpcMethodKind Kind { get; }

    /// <summary>The type of the reply value or stream item; <see langword="null"/> when there is none.</summary>
    public Type? ResponseType { get; }

    /// <summary>The method's own timeout, or <see langword="null"/> to use the service default.</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>The one-time extension applied after the timeout (zero for none).</summary>
    public TimeSpan ExtendBy { get; }

    /// <summary><see langword="true"/> when a timeout yields a Pending <see cref="RpcResult{T}"/> instead of an exception.</summary>
    public bool ReturnsRpcResult { get; }

    /// <summary><see langword="true"/> when the method has an <see cref="RpcKeyAttribute"/> parameter.</summary>
    public bool HasKey { get; }

    /// <summary>
    /// The arguments the method sends to the server (not its <c>CancellationToken</c> or
    /// <c>RpcCallOptions</c>), in declaration order. Used to check at start-up that the serializer
    /// can write every type a contract uses.
    /// </summary>
    public IReadOnlyList<RpcParameterDescriptor> Parameters { get; }

    /// <inheritdoc />
    public override string ToString() => _service is null ? Name : FullName;

    internal void AttachTo(RpcServiceDescriptor service)
    {
        if (_service is not null && !ReferenceEquals(_service, service))
        {
            throw new InvalidOperationException($"Method '{Name}' already belongs to service '{_service.ServiceName}'.");
        }

        _service = service;
    }
}
