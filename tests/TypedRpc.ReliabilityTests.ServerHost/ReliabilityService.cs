using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Options;

namespace TypedRpc.ReliabilityTests.ServerHost;

/// <summary>The reliability contract's server: the side effect happens only when the work finished.</summary>
public sealed class ReliabilityService(IEffectLog effects, IOptions<TypedRpcOptions> options) : ReliabilityServiceBase
{
    /// <inheritdoc />
    public override async Task<string> ProcessAsync(int delayMs, RpcServerCallContext context)
    {
        if (delayMs > 0)
        {
            await Task.Delay(delayMs, context.CancellationToken).ConfigureAwait(false);
        }

        effects.Record(context.CorrelationId, options.Value.InstanceId);
        return options.Value.InstanceId + "|" + context.CorrelationId;
    }

    /// <inheritdoc />
    public override Task<string> AnswerAsync(int replyChars, string? throwMessage, RpcServerCallContext context) =>
        throwMessage is null ? Task.FromResult(new string('r', replyChars)) : throw new InvalidOperationException(throwMessage);

    /// <inheritdoc />
    public override Task<string> TypeOfAsync(Shape shape, RpcServerCallContext context) =>
        Task.FromResult(shape.GetType().FullName + ":" + shape.Name);
}
