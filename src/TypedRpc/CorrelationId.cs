using System;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace TypedRpc;

/// <summary>
/// Identifies one call across instances: 16 bytes, written as 32 lowercase hex digits. A fresh
/// call gets a UUIDv7 (time-ordered, so ids sort by creation and index well); a call with an
/// idempotency key gets an id derived from its method and key, so a retry from any instance
/// joins the original call.
/// </summary>
public readonly struct CorrelationId : IEquatable<CorrelationId>
{
    /// <summary>The size of an id in bytes.</summary>
    public const int Size = 16;

    // Random bytes come from the operating system's generator 64 ids' worth at a time, per thread:
    // one draw per id cost ~1.2 µs (OpenSSL takes locks on every call), a large part of an
    // in-memory call; amortised it is a few nanoseconds. Each id takes bytes no other id saw.
    private const int RandomBatch = Size * 64;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_randomUsed;

    private readonly ulong _high;
    private readonly ulong _low;

    private CorrelationId(ulong high, ulong low)
    {
        _high = high;
        _low = low;
    }

    /// <summary><see langword="true"/> for <c>default(CorrelationId)</c>, which no call uses.</summary>
    public bool IsEmpty => _high == 0 && _low == 0;

    private static ReadOnlySpan<byte> NextRandomBytes()
    {
        var buffer = t_random;
        var used = t_randomUsed;
        if (buffer is null || used + Size > buffer.Length)
        {
            buffer = t_random ??= new byte[RandomBatch];
            RandomNumberGenerator.Fill(buffer);
            used = 0;
        }

        t_randomUsed = used + Size;
        return buffer.AsSpan(used, Size);
    }

    /// <summary>Creates a new time-ordered id (UUIDv7: 48-bit unix milliseconds, 74 random bits).</summary>
    /// <returns>The id.</returns>
    public static CorrelationId NewId()
    {
        var bytes = NextRandomBytes();
        var ms = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var high = (ms << 16) | 0x7000UL | (BinaryPrimitives.ReadUInt16BigEndian(bytes) & 0x0FFFUL);
        var low = (BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]) & 0x3FFFFFFFFFFFFFFFUL) | 0x8000000000000000UL;
        return new CorrelationId(high, low);
    }

    /// <summary>
    /// Derives the id of an idempotent call: the first 16 bytes of SHA-256 over the method's
    /// full name and the key, so the same operation has the same id on every instance.
    /// </summary>
    /// <param name="methodFullName">The method's <c>service/method</c> name.</param>
    /// <param name="idempotencyKey">The caller's idempotency key.</param>
    /// <returns>The id.</returns>
    public static CorrelationId FromIdempotencyKey(string methodFullName, string idempotencyKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(methodFullName);
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        var input = Encoding.UTF8.GetBytes(methodFullName + "\n" + idempotencyKey);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        return FromBytes(hash[..Size]);
    }

    /// <summary>Reads an id from its 16-byte form.</summary>
    /// <param name="bytes">Exactly 16 bytes.</param>
    /// <returns>The id.</returns>
    /// <exception cref="ArgumentException">The span is not 16 bytes long.</exception>
    public static CorrelationId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"A correlation id is {Size} bytes, not {bytes.Length}.", nameof(bytes));
        }

        return new CorrelationId(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }

    /// <summary>Writes the 16-byte form.</summary>
    /// <param name="destination">At least 16 bytes.</param>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _low);
    }

    /// <summary>The 16-byte form.</summary>
    /// <returns>A new array.</returns>
    public byte[] ToByteArray()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>Parses the 32-hex-digit form (a UUID with dashes is accepted too).</summary>
    /// <param name="text">The text.</param>
    /// <param name="id">The id.</param>
    /// <returns><see langword="true"/> when the text is a valid, non-empty id.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out CorrelationId id)
    {
        id = default;
        Span<char> hex = stackalloc char[32];
        var n = 0;
        foreach (var c in text)
        {
            if (c == '-')
            {
                continue;
            }

            if (n == 32 || !char.IsAsciiHexDigit(c))
            {
                return false;
            }

            hex[n++] = c;
        }

        if (n != 32)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Size];
        if (Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != Size)
        {
            return false;
        }

        id = FromBytes(bytes);
        return !id.IsEmpty;
    }

    /// <summary>Parses the 32-hex-digit form.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The id.</returns>
    /// <exception cref="FormatException">The text is not a correlation id.</exception>
    public static CorrelationId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a correlation id (32 hexadecimal digits).");

    /// <inheritdoc />
    public bool Equals(CorrelationId other) => _high == other._high && _low == other._low;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is CorrelationId other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => (_high ^ _low).GetHashCode();

    /// <summary>Compares two ids.</summary>
    public static bool operator ==(CorrelationId left, CorrelationId right) => left.Equals(right);

    /// <summary>Compares two ids.</summary>
    public static bool operator !=(CorrelationId left, CorrelationId right) => !left.Equals(right);

    /// <summary>The 32 lowercase hex digits.</summary>
    public override string ToString() => string.Create(32, this, static (span, id) =>
    {
        Span<byte> bytes = stackalloc byte[Size];
        id.WriteTo(bytes);
        Convert.TryToHexStringLower(bytes, span, out _);
    });
}
