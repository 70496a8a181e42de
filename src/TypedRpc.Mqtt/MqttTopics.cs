using System;

namespace TypedRpc.Mqtt;

/// <summary>The topics made from <see cref="MqttTransportOptions"/>' patterns, each name checked before it becomes part of one.</summary>
internal static class MqttTopics
{
    /// <summary>The topic a method's requests are published to.</summary>
    public static string Request(MqttTransportOptions options, RpcServiceDescriptor service, string method) =>
        options.RequestTopic.Replace("{service}", Level("service name", service.ServiceName), StringComparison.Ordinal)
            .Replace("{method}", Level("method name", method), StringComparison.Ordinal);

    /// <summary>The filter matching every method's requests of a contract ('+' for the method's level).</summary>
    public static string RequestFilter(MqttTransportOptions options, RpcServiceDescriptor service) =>
        options.RequestTopic.Replace("{service}", Level("service name", service.ServiceName), StringComparison.Ordinal)
            .Replace("{method}", "+", StringComparison.Ordinal);

    /// <summary>A caller instance's reply topic.</summary>
    public static string Reply(MqttTransportOptions options, string instanceId) =>
        options.ReplyTopic.Replace("{clientGroup}", options.ClientGroup, StringComparison.Ordinal)
            .Replace("{instanceId}", Level("instance id (TypedRpc:InstanceId)", instanceId), StringComparison.Ordinal);

    /// <summary>A name that becomes one topic level: no separator or wildcard in it.</summary>
    private static string Level(string what, string value)
    {
        if (value.Length == 0 || value.AsSpan().IndexOfAny("/+#\0") >= 0)
        {
            throw new ArgumentException($"The {what} '{value}' cannot be part of an MQTT topic: it must not be empty or contain '/', '+', '#' or NUL.");
        }

        return value;
    }
}
