namespace TypedRpc.ReliabilityTests.ServerHost;

/// <summary>Where the reliability service records each side effect (per correlation id).</summary>
public interface IEffectLog
{
    /// <summary>Records one side effect of the call <paramref name="correlationId"/>, run by <paramref name="instanceId"/>.</summary>
    void Record(string correlationId, string instanceId);
}
