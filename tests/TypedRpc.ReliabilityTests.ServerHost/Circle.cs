namespace TypedRpc.ReliabilityTests.ServerHost;

/// <summary>The subclass a hostile payload names in "$type".</summary>
public sealed class Circle : Shape
{
    /// <summary>A radius.</summary>
    public double Radius { get; set; }
}
