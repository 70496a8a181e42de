using System;
using System.IO;
using System.Linq;
using Xunit;

namespace TypedRpc.Mqtt.Tests;

/// <summary>Every setting is checked on start, with a message naming it.</summary>
public sealed class MqttTransportOptionsTests
{
    [Fact]
    public void TheDefaultsWithABroker_AreValid()
    {
        Assert.Empty(MqttTransportOptionsValidator.Problems(new MqttTransportOptions { Server = "broker:1883" }));
        Assert.Empty(MqttTransportOptionsValidator.Problems(new MqttTransportOptions { Server = "broker" }));
    }

    public static TheoryData<string, Action<MqttTransportOptions>, string> Problems => new()
    {
        { "no server", o => o.Server = "", "TypedRpc:Mqtt:Server is required" },
        { "a port of 0", o => o.Server = "broker:0", "TypedRpc:Mqtt:Server is required" },
        { "a port of 65536", o => o.Server = "broker:65536", "TypedRpc:Mqtt:Server is required" },
        { "no host", o => o.Server = ":1883", "TypedRpc:Mqtt:Server is required" },
        { "a client group with a slash", o => o.ClientGroup = "shop/eu", "TypedRpc:Mqtt:ClientGroup must be" },
        { "a client group starting with $", o => o.ClientGroup = "$SYS", "TypedRpc:Mqtt:ClientGroup must be" },
        { "a request topic without {method}", o => o.RequestTopic = "{service}/requests", "TypedRpc:Mqtt:RequestTopic must contain {method}" },
        { "a request topic with {method} inside a level", o => o.RequestTopic = "{service}/requests-{method}", "TypedRpc:Mqtt:RequestTopic must have {method} as a whole topic level" },
        { "a request topic with a wildcard", o => o.RequestTopic = "{service}/#/{method}", "TypedRpc:Mqtt:RequestTopic must be a topic name" },
        { "a reply topic without {instanceId}", o => o.ReplyTopic = "{clientGroup}/replies", "TypedRpc:Mqtt:ReplyTopic must contain {instanceId}" },
        { "a server group prefix with a slash", o => o.ServerGroupPrefix = "a/b", "TypedRpc:Mqtt:ServerGroupPrefix must be" },
        { "a password without a user", o => o.Password = "secret", "TypedRpc:Mqtt:Password is set without TypedRpc:Mqtt:Username" },
        { "a CA file without TLS", o => o.CaCertificateFile = "/etc/hosts", "TypedRpc:Mqtt:CaCertificateFile, ClientCertificateFile and ClientKeyFile need TypedRpc:Mqtt:UseTls = true" },
        { "a client certificate without its key", o => { o.UseTls = true; o.ClientCertificateFile = "/etc/hosts"; }, "TypedRpc:Mqtt:ClientCertificateFile and TypedRpc:Mqtt:ClientKeyFile go together" },
        { "a missing CA file", o => { o.UseTls = true; o.CaCertificateFile = "/nonexistent/ca.pem"; }, "TypedRpc:Mqtt:CaCertificateFile: no file at '/nonexistent/ca.pem'" },
        { "a session expiry of 0", o => o.SessionExpiry = TimeSpan.Zero, "TypedRpc:Mqtt:SessionExpiry must be between" },
        { "a keep-alive over 65535 s", o => o.KeepAlive = TimeSpan.FromSeconds(65_536), "TypedRpc:Mqtt:KeepAlive must be between" },
        { "a connect timeout of 0", o => o.ConnectTimeout = TimeSpan.Zero, "TypedRpc:Mqtt:ConnectTimeout must be between" },
        { "a message limit under 1 KB", o => o.MaxMessageBytes = 1_000, "TypedRpc:Mqtt:MaxMessageBytes must be between 1024 and 268435455" },
        { "a receive maximum of 0", o => o.ReceiveMaximum = 0, "TypedRpc:Mqtt:ReceiveMaximum must be between 1 and 65535" },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void ABadSetting_IsNamed(string what, Action<MqttTransportOptions> change, string problem)
    {
        var options = new MqttTransportOptions { Server = "broker:1883" };
        change(options);

        var problems = MqttTransportOptionsValidator.Problems(options);

        Assert.True(problems.Count == 1, $"{what}: {string.Join(" | ", problems)}");
        Assert.StartsWith(problem, problems.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public void TheServer_DefaultsToThePortOfItsProtocol()
    {
        Assert.True(MqttTransportOptionsValidator.TrySplitServer("broker", tls: false, out var host, out var port));
        Assert.Equal(("broker", 1883), (host, port));
        Assert.True(MqttTransportOptionsValidator.TrySplitServer("broker", tls: true, out _, out port));
        Assert.Equal(8883, port);
        Assert.True(MqttTransportOptionsValidator.TrySplitServer("10.0.0.5:2883", tls: false, out host, out port));
        Assert.Equal(("10.0.0.5", 2883), (host, port));
    }

    [Fact]
    public void TlsFilesThatExist_AreAccepted()
    {
        var file = Path.GetTempFileName();
        try
        {
            var options = new MqttTransportOptions { Server = "broker", UseTls = true, CaCertificateFile = file, ClientCertificateFile = file, ClientKeyFile = file };
            Assert.Empty(MqttTransportOptionsValidator.Problems(options));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
