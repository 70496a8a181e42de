using System;

namespace TypedRpc;

/// <summary>One argument of a contract method, as sent to the server. Created by generated code.</summary>
public sealed class RpcParameterDescriptor
{
    /// <summary>Creates a parameter descriptor.</summary>
    /// <param name="name">The parameter's name, which is also its JSON property name.</param>
    /// <param name="type">The parameter's declared type.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public RpcParameterDescriptor(string name, Type type)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(type);
        Name = name;
        Type = type;
    }

    /// <summary>The parameter's name, which is also its JSON property name.</summary>
    public string Name { get; }

    /// <summary>The parameter's declared type.</summary>
    public Type Type { get; }

    /// <inheritdoc />
    public override string ToString() => Type.Name + " " + Name;
}
