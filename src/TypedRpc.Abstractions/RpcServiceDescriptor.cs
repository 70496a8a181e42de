using System;
using System.Collections.Generic;

namespace TypedRpc;

/// <summary>Describes a contract: its service name, topic and methods. Created by generated code.</summary>
public sealed class RpcServiceDescriptor
{
    private readonly RpcMethodDescriptor[] _methods;
    private readonly Dictionary<string, RpcMethodDescriptor> _byName;

    /// <summary>Creates a service descriptor and attaches the methods to it.</summary>
    /// <param name="serviceName">The logical service name from <see cref="AsyncSyncContractAttribute"/>.</param>
    /// <param name="contractType">The contract interface.</param>
    /// <param name="topic">The request topic override, or <see langword="null"/> to derive it from the service name.</param>
    /// <param name="defaultTimeoutMs">The contract-level <see cref="RpcTimeoutAttribute"/> timeout, or 0.</param>
    /// <param name="methods">The methods, in index order.</param>
    /// <exception cref="ArgumentException">The name is empty, or method indexes or names are not unique.</exception>
    public RpcServiceDescriptor(string serviceName, Type contractType, string? topic, int defaultTimeoutMs, RpcMethodDescriptor[] methods)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        ArgumentNullException.ThrowIfNull(contractType);
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentOutOfRangeException.ThrowIfNegative(defaultTimeoutMs);

        ServiceName = serviceName;
        ContractType = contractType;
        Topic = topic;
        DefaultTimeout = defaultTimeoutMs == 0 ? null : TimeSpan.FromMilliseconds(defaultTimeoutMs);
        _methods = methods;
        _byName = new Dictionary<string, RpcMethodDescriptor>(methods.Length, StringComparer.Ordinal);
        for (var i = 0; i < methods.Length; i++)
        {
            var method = methods[i] ?? throw new ArgumentException("A method descriptor is null.", nameof(methods));
            if (method.Index != i)
            {
                throw new ArgumentException($"Method '{method.Name}' has index {method.Index} but is at position {i}.", nameof(methods));
            }

            if (!_byName.TryAdd(method.Name, method))
            {
                throw new ArgumentException($"Method name '{method.Name}' appears twice in service '{serviceName}'.", nameof(methods));
            }

            method.AttachTo(this);
        }
    }

    /// <summary>The logical service name.</summary>
    public string ServiceName { get; }

    /// <summary>The contract interface.</summary>
    public Type ContractType { get; }

    /// <summary>The request topic override, or <see langword="null"/>.</summary>
    public string? Topic { get; }

    /// <summary>The contract-level timeout, or <see langword="null"/> to use the runtime's default.</summary>
    public TimeSpan? DefaultTimeout { get; }

    /// <summary>The methods, in index order.</summary>
    public IReadOnlyList<RpcMethodDescriptor> Methods => _methods;

    /// <summary>Finds a method by its wire name.</summary>
    /// <param name="name">The wire name (<see cref="RpcMethodDescriptor.Name"/>).</param>
    /// <param name="method">The method, when found.</param>
    /// <returns><see langword="true"/> when the service has the method.</returns>
    public bool TryFindMethod(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RpcMethodDescriptor? method) =>
        _byName.TryGetValue(name, out method);

    /// <inheritdoc />
    public override string ToString() => ServiceName;
}
