using System;

namespace TypedRpc.Transport;

/// <summary>
/// Where replies for a caller instance go. Opaque to the engine: a transport fills it in (for
/// Kafka, a reply topic and partition) and reads it back when replying.
/// </summary>
public readonly struct RpcReplyAddress : IEquatable<RpcReplyAddress>
{
    /// <summary>Creates an address.</summary>
    /// <param name="destination">The transport's destination name (for Kafka: the reply topic).</param>
    /// <param name="partition">The partition within the destination, or -1 when the transport has none.</param>
    public RpcReplyAddress(string destination, int partition = -1)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentOutOfRangeException.ThrowIfLessThan(partition, -1);
        Destination = destination;
        Partition = partition;
    }

    /// <summary>The destination name.</summary>
    public string Destination { get; }

    /// <summary>The partition, or -1.</summary>
    public int Partition { get; }

    /// <summary><see langword="true"/> for <c>default</c>, which addresses nothing.</summary>
    public bool IsEmpty => Destination is null;

    /// <inheritdoc />
    public bool Equals(RpcReplyAddress other) => string.Equals(Destination, other.Destination, StringComparison.Ordinal) && Partition == other.Partition;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RpcReplyAddress other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Destination, Partition);

    /// <summary>Compares two addresses.</summary>
    public static bool operator ==(RpcReplyAddress left, RpcReplyAddress right) => left.Equals(right);

    /// <summary>Compares two addresses.</summary>
    public static bool operator !=(RpcReplyAddress left, RpcReplyAddress right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => Partition < 0 ? Destination ?? "(none)" : $"{Destination}[{Partition}]";
}
