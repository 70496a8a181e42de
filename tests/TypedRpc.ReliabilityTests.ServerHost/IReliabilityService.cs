using System.Threading.Tasks;

namespace TypedRpc.ReliabilityTests.ServerHost;

/// <summary>The contract the reliability tests call while they kill and disturb its instances.</summary>
[AsyncSyncContract("reliability")]
public interface IReliabilityService
{
    /// <summary>
    /// Works for <paramref name="delayMs"/> (cancellable), then records its one side effect for
    /// the call and returns "instance|correlation id". A handler cut off before the end has no effect.
    /// </summary>
    Task<string> ProcessAsync(int delayMs, RpcCallOptions options);

    /// <summary>Returns <paramref name="replyChars"/> characters, or throws an InvalidOperationException with <paramref name="throwMessage"/>.</summary>
    Task<string> AnswerAsync(int replyChars, string? throwMessage, RpcCallOptions options);

    /// <summary>Names the .NET type <paramref name="shape"/> arrived as on the server (a payload naming a "$type" must not change it).</summary>
    Task<string> TypeOfAsync(Shape shape);
}
