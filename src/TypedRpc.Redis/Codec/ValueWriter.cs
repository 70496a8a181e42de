using System;
using System.Text;

namespace TypedRpc.Redis.Codec;

/// <summary>Writes the store's binary values into a span sized beforehand (one exact allocation per value).</summary>
internal ref struct ValueWriter
{
    private readonly Span<byte> _destination;
    private int _position;

    public ValueWriter(Span<byte> destination)
    {
        _destination = destination;
        _position = 0;
    }

    public readonly int Position => _position;

    public static int VarUInt32Size(uint value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    public static int StringSize(string? value)
    {
        var bytes = value is null ? 0 : Encoding.UTF8.GetByteCount(value);
        return VarUInt32Size((uint)bytes) + bytes;
    }

    public void WriteByte(byte value) => _destination[_position++] = value;

    public void WriteVarUInt32(uint value)
    {
        while (value >= 0x80)
        {
            _destination[_position++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _destination[_position++] = (byte)value;
    }

    public void WriteBytes(scoped ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_destination[_position..]);
        _position += bytes.Length;
    }

    public void WriteLengthPrefixed(scoped ReadOnlySpan<byte> bytes)
    {
        WriteVarUInt32((uint)bytes.Length);
        WriteBytes(bytes);
    }

    public void WriteString(string? value)
    {
        var length = value is null ? 0 : Encoding.UTF8.GetByteCount(value);
        WriteVarUInt32((uint)length);
        if (length > 0)
        {
            _position += Encoding.UTF8.GetBytes(value, _destination[_position..]);
        }
    }
}
