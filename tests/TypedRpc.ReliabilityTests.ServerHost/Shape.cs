namespace TypedRpc.ReliabilityTests.ServerHost;

/// <summary>An argument type with a subclass: what a type-name-driven deserializer could be tricked into building.</summary>
public class Shape
{
    /// <summary>A name.</summary>
    public string? Name { get; set; }
}
