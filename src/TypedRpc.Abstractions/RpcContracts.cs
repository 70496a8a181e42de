using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace TypedRpc;

/// <summary>
/// The registry through which the runtime finds each contract's generated proxy and descriptor
/// without reflection. Generated code fills it from a module initializer of the assembly that
/// declares the contract.
/// </summary>
public static class RpcContracts
{
    private static readonly ConcurrentDictionary<Type, RpcServiceDescriptor> s_byType = new();
    private static readonly ConcurrentDictionary<string, Type> s_byServiceName = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<Type, Type> s_clashes = new();

    /// <summary>Registers a contract. Called by generated code; registering the same contract again is a no-op.</summary>
    /// <typeparam name="TContract">The contract interface.</typeparam>
    /// <param name="descriptor">The contract's descriptor.</param>
    /// <param name="clientFactory">Creates the generated proxy.</param>
    /// <exception cref="ArgumentException">The descriptor describes another type.</exception>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static void Register<TContract>(RpcServiceDescriptor descriptor, Func<IRpcInvoker, TContract> clientFactory)
        where TContract : class
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentNullException.ThrowIfNull(clientFactory);
        if (descriptor.ContractType != typeof(TContract))
        {
            throw new ArgumentException($"The descriptor describes {descriptor.ContractType}, not {typeof(TContract)}.", nameof(descriptor));
        }

        // A module initializer must not throw (it would make the whole assembly unusable), so a
        // clash of service names between assemblies is remembered and reported when either
        // contract is used.
        Registration<TContract>.Value ??= new RpcContract<TContract>(descriptor, clientFactory);
        s_byType.TryAdd(typeof(TContract), descriptor);
        var owner = s_byServiceName.GetOrAdd(descriptor.ServiceName, typeof(TContract));
        if (owner != typeof(TContract))
        {
            // Both contracts are unusable: neither may silently receive the other's requests.
            s_clashes.TryAdd(typeof(TContract), owner);
            s_clashes.TryAdd(owner, typeof(TContract));
        }
    }

    /// <summary>Gets a contract's registration.</summary>
    /// <typeparam name="TContract">The contract interface.</typeparam>
    /// <returns>The registration.</returns>
    /// <exception cref="InvalidOperationException">The type is not a generated contract, or its service name is used by another contract.</exception>
    public static RpcContract<TContract> Get<TContract>()
        where TContract : class
    {
        var contract = Registration<TContract>.Value;
        if (contract is null)
        {
            // The module initializer of the declaring assembly runs when the module is first
            // touched; typeof() alone does not touch it, so run it explicitly (AOT-safe).
            RuntimeHelpers.RunModuleConstructor(typeof(TContract).Module.ModuleHandle);
            contract = Registration<TContract>.Value;
        }

        if (contract is null)
        {
            throw new InvalidOperationException(
                $"{typeof(TContract)} is not a TypedRpc contract: mark the interface with [AsyncSyncContract] and make sure the TypedRpc generator runs in its project (it ships in the TypedRpc package).");
        }

        if (s_clashes.TryGetValue(typeof(TContract), out var other))
        {
            throw new InvalidOperationException(
                $"Service name '{contract.Descriptor.ServiceName}' is used by both {other} and {typeof(TContract)}; service names must be unique.");
        }

        return contract;
    }

    /// <summary>Gets the descriptor of a registered contract type.</summary>
    /// <param name="contractType">The contract interface.</param>
    /// <param name="descriptor">The descriptor, when registered.</param>
    /// <returns><see langword="true"/> when the type is a registered contract.</returns>
    public static bool TryGetDescriptor(Type contractType, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RpcServiceDescriptor? descriptor)
    {
        ArgumentNullException.ThrowIfNull(contractType);
        if (!s_byType.TryGetValue(contractType, out descriptor))
        {
            RuntimeHelpers.RunModuleConstructor(contractType.Module.ModuleHandle);
            return s_byType.TryGetValue(contractType, out descriptor);
        }

        return true;
    }

    /// <summary>A snapshot of the descriptors of every contract registered so far.</summary>
    public static IReadOnlyCollection<RpcServiceDescriptor> Registered => new List<RpcServiceDescriptor>(s_byType.Values);

    private static class Registration<TContract>
        where TContract : class
    {
        public static RpcContract<TContract>? Value;
    }
}
