using System;
using System.Collections.Generic;
using System.Linq;

namespace TypedRpc.Serialization;

/// <summary>
/// Checks at start-up that the serializer has metadata for every type the application's contracts
/// send, so that a type missing from a source-generated JSON context fails the start naming it,
/// instead of the first call that uses it.
/// </summary>
internal static class SerializerCheck
{
    /// <summary>Throws when <paramref name="serializer"/> cannot write a type one of <paramref name="contracts"/> uses.</summary>
    /// <exception cref="InvalidOperationException">At least one type is missing; the message names each with where it is used.</exception>
    public static void ThrowIfMissingTypes(IRpcSerializer serializer, IEnumerable<RpcServiceDescriptor> contracts)
    {
        if (serializer is not JsonRpcSerializer json)
        {
            // A serializer of the application's own: it knows its types, TypedRpc cannot ask.
            return;
        }

        var missing = new List<(Type Type, string Use)>();
        foreach (var contract in contracts.Distinct())
        {
            foreach (var method in contract.Methods)
            {
                foreach (var parameter in method.Parameters)
                {
                    Check(parameter.Type, $"parameter '{parameter.Name}' of {method.FullName}");
                }

                if (method.ResponseType is { } response)
                {
                    Check(response, (method.Kind == RpcMethodKind.ServerStreaming ? "the stream items of " : "the reply of ") + method.FullName);
                }
            }
        }

        if (missing.Count == 0)
        {
            return;
        }

        var types = missing.GroupBy(m => m.Type).Select(g => $"{Name(g.Key)} ({string.Join(", ", g.Select(m => m.Use))})");
        throw new InvalidOperationException(
            $"The JSON serializer has no metadata for {(missing.Select(m => m.Type).Distinct().Count() == 1 ? "a type" : "types")} the contracts use: {string.Join("; ", types)}. " +
            "Add [JsonSerializable(typeof(...))] for each to the JsonSerializerContext registered with UseJsonContext.");

        void Check(Type type, string use)
        {
            if (!json.CanSerialize(type))
            {
                missing.Add((type, use));
            }
        }
    }

    /// <summary>The type as C# writes it: <c>System.Collections.Generic.List&lt;Contoso.Order&gt;</c>, not <c>List`1</c>.</summary>
    private static string Name(Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Name(underlying) + "?";
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        }

        if (!type.IsGenericType)
        {
            return (type.FullName ?? type.Name).Replace('+', '.');
        }

        var definition = type.GetGenericTypeDefinition().FullName ?? type.Name;
        var tick = definition.IndexOf('`', StringComparison.Ordinal);
        return (tick < 0 ? definition : definition[..tick]).Replace('+', '.') + "<" + string.Join(", ", type.GetGenericArguments().Select(Name)) + ">";
    }
}
