using System;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TypedRpc.AspNetCore;

/// <summary>
/// Result handles: <c>{correlation id}.{tag}</c>, the tag being 128 bits of HMAC-SHA256 over the id
/// (and the result owner, when results are bound to callers) under a secret key. A correlation id
/// alone can be guessed (UUIDv7s are time-ordered; an idempotent call's id is a hash of its key),
/// a tag cannot without the key — so a handle is as hard to guess as 128 random bits, and needs no
/// storage: any instance with the key can check it.
/// </summary>
internal sealed class ResultHandles
{
    private const int TagBytes = 16;
    private const int TagChars = 22;
    private readonly byte[] _key;

    public ResultHandles(IOptions<RpcHttpOptions> options, ILogger<ResultHandles>? logger = null)
    {
        if (options.Value.ResultSigningKey is { } configured && TryDecodeKey(configured, out var key))
        {
            _key = key;
        }
        else
        {
            _key = RandomNumberGenerator.GetBytes(32);
            if (logger is not null)
            {
                HttpLog.GeneratedSigningKey(logger);
            }
        }
    }

    public static bool TryDecodeKey(string text, out byte[] key)
    {
        key = Array.Empty<byte>();
        var buffer = new byte[(text.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(text, buffer, out var written) || written < 32)
        {
            return false;
        }

        key = buffer.AsSpan(0, written).ToArray();
        return true;
    }

    /// <summary>The handle of a call's result for a caller.</summary>
    public string Create(string correlationId, string? owner)
    {
        Span<byte> tag = stackalloc byte[32];
        Sign(correlationId, owner, tag);
        return correlationId + "." + Base64Url.EncodeToString(tag[..TagBytes]);
    }

    /// <summary>Checks a handle for a caller; returns the correlation id when it is genuine.</summary>
    public bool TryOpen(string? handle, string? owner, out string correlationId)
    {
        correlationId = string.Empty;
        // A correlation id is 32 hex characters; the tag 22 base64url characters.
        if (handle is null || handle.Length != 32 + 1 + TagChars || handle[32] != '.' || !CorrelationId.TryParse(handle.AsSpan(0, 32), out _))
        {
            return false;
        }

        // The tag is compared as text: decoding would accept 16 spellings of each tag (base64's
        // last character carries 4 bits the 128-bit tag does not use), and a handle is an identifier
        // that should have exactly one spelling.
        var id = handle[..32];
        Span<byte> expected = stackalloc byte[32];
        Sign(id, owner, expected);
        Span<char> expectedTag = stackalloc char[TagChars];
        Base64Url.EncodeToChars(expected[..TagBytes], expectedTag);
        if (!CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(expectedTag), MemoryMarshal.AsBytes(handle.AsSpan(33))))
        {
            return false;
        }

        correlationId = id;
        return true;
    }

    private void Sign(string correlationId, string? owner, Span<byte> destination)
    {
        // Domain-separated, length-prefixed input: no (id, owner) pair can be made to collide with another.
        var text = $"typedrpc-result\n{correlationId}\n{owner?.Length ?? -1}\n{owner}";
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(text), destination);
    }
}
