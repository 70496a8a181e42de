using System;
using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using TypedRpc.Serialization;

namespace TypedRpc.Client;

/// <summary>
/// What identifies an idempotent call's request beyond its id: the first 16 bytes of SHA-256 over
/// the method's full name, a newline and the encoded arguments, as 32 hex digits.
/// </summary>
internal static class RequestFingerprint
{
    /// <summary>The fingerprint of <paramref name="method"/> called with the encoded <paramref name="payload"/>.</summary>
    public static string Of(RpcMethodDescriptor method, ReadOnlySpan<byte> payload)
    {
        var prefix = method.FullName.Length * 3 + 1;
        var buffer = ArrayPool<byte>.Shared.Rent(prefix + payload.Length);
        try
        {
            var written = Encoding.UTF8.GetBytes(method.FullName, buffer);
            buffer[written++] = (byte)'\n';
            payload.CopyTo(buffer.AsSpan(written));
            Span<byte> digest = stackalloc byte[32];
            SHA256.HashData(buffer.AsSpan(0, written + payload.Length), digest);
            return Convert.ToHexStringLower(digest[..16]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The fingerprint of <paramref name="method"/> called with <paramref name="args"/>, encoding them here.</summary>
    /// <exception cref="RpcException">The arguments could not be serialized (InvalidArgument).</exception>
    public static string Of<TArgs>(RpcMethodDescriptor method, TArgs args, CorrelationId id, IRpcSerializer serializer)
        where TArgs : struct, IRpcArguments
    {
        byte[] payload;
        try
        {
            payload = PayloadCodec.EncodeArguments(args, serializer);
        }
        catch (Exception ex)
        {
            throw new RpcException(new RpcStatus(RpcStatusCode.InvalidArgument, "The arguments could not be serialized: " + ex.Message), id.ToString(), ex);
        }

        return Of(method, payload);
    }
}
