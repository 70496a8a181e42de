using System;

namespace TypedRpc;

/// <summary>A status code with an optional human-readable detail.</summary>
public readonly struct RpcStatus : IEquatable<RpcStatus>
{
    /// <summary>The successful status.</summary>
    public static readonly RpcStatus Ok = new(RpcStatusCode.OK, string.Empty);

    /// <summary>Creates a status.</summary>
    /// <param name="code">The status code.</param>
    /// <param name="detail">A human-readable explanation; <see langword="null"/> is stored as empty.</param>
    public RpcStatus(RpcStatusCode code, string? detail)
    {
        StatusCode = code;
        _detail = detail;
    }

    // Nullable so that default(RpcStatus) is a valid OK status with an empty detail.
    private readonly string? _detail;

    /// <summary>The status code.</summary>
    public RpcStatusCode StatusCode { get; }

    /// <summary>A human-readable explanation (never <see langword="null"/>).</summary>
    public string Detail => _detail ?? string.Empty;

    /// <inheritdoc />
    public bool Equals(RpcStatus other) => StatusCode == other.StatusCode && string.Equals(Detail, other.Detail, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RpcStatus other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(StatusCode, Detail);

    /// <summary>Compares two statuses.</summary>
    public static bool operator ==(RpcStatus left, RpcStatus right) => left.Equals(right);

    /// <summary>Compares two statuses.</summary>
    public static bool operator !=(RpcStatus left, RpcStatus right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => Detail.Length == 0 ? $"Status(StatusCode=\"{StatusCode}\")" : $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\")";
}
