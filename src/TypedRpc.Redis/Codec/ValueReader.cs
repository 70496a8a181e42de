using System;
using System.IO;
using System.Text;

namespace TypedRpc.Redis.Codec;

/// <summary>
/// Reads the store's binary values, turning every kind of damage (truncation, an unknown version,
/// a bad length, invalid UTF-8, trailing bytes) into one <see cref="InvalidDataException"/> that
/// names the key, so a corrupt value is reported where it is found rather than as a confusing
/// failure later.
/// </summary>
internal ref struct ValueReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _data;
    private readonly string _key;
    private readonly string _what;
    private int _position;

    public ValueReader(ReadOnlySpan<byte> data, string key, string what)
    {
        _data = data;
        _key = key;
        _what = what;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly bool AtEnd => _position == _data.Length;

    public byte ReadByte()
    {
        if (_position >= _data.Length)
        {
            throw Corrupt("it ends early");
        }

        return _data[_position++];
    }

    public void ExpectVersion(byte version)
    {
        var found = ReadByte();
        if (found != version)
        {
            throw Corrupt($"format version {found}, expected {version}");
        }
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || count > _data.Length - _position)
        {
            throw Corrupt("a length runs past its end");
        }

        var bytes = _data.Slice(_position, count);
        _position += count;
        return bytes;
    }

    /// <summary>A 7-bit-encoded unsigned 32-bit number (1 to 5 bytes).</summary>
    public uint ReadVarUInt32()
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var b = ReadByte();
            if (shift == 28 && b > 0x0F)
            {
                throw Corrupt("a number is out of range");
            }

            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw Corrupt("a number is out of range");
    }

    public int ReadLength()
    {
        var length = ReadVarUInt32();
        if (length > (uint)(_data.Length - _position))
        {
            throw Corrupt("a length runs past its end");
        }

        return (int)length;
    }

    public string ReadString()
    {
        var bytes = ReadBytes(ReadLength());
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Corrupt("a text field is not valid UTF-8");
        }
    }

    public readonly void ExpectEnd()
    {
        if (!AtEnd)
        {
            throw Corrupt($"{_data.Length - _position} unexpected bytes follow it");
        }
    }

    public readonly InvalidDataException Corrupt(string reason) =>
        new($"The value stored at Redis key '{_key}' is not a valid {_what}: {reason} (byte {_position} of {_data.Length}). It was written by something else, or damaged.");
}
