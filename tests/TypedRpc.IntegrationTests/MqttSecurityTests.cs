using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.DevServices;
using TypedRpc.Mqtt;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// The MQTT transport's credentials and TLS reach the broker: mosquitto with a TLS listener that wants
/// a user name and password, and one that wants a client certificate, both signed by a certificate
/// authority made for the test.
/// </summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class MqttSecurityTests(Redis.RedisServerFixture redis) : IAsyncLifetime
{
    private int _passwordPort;
    private int _certificatePort;
    private string _files = string.Empty;
    private LocalMosquitto _broker = null!;

    private string CaFile => Path.Combine(_files, "ca.pem");

    private string OtherCaFile => Path.Combine(_files, "other-ca.pem");

    private string ClientCertificateFile => Path.Combine(_files, "client.pem");

    private string ClientKeyFile => Path.Combine(_files, "client-key.pem");

    public async Task InitializeAsync()
    {
        _passwordPort = LoopbackPort.Free();
        _certificatePort = LoopbackPort.Free();
        _broker = await LocalMosquitto.StartWithListenersAsync(directory =>
        {
            _files = directory;
            WriteCertificates(directory);
            var passwd = ServerProcess.Find("mosquitto_passwd", Environment.GetEnvironmentVariable("PATH"), ServerProcess.SystemDirectories)
                ?? throw new InvalidOperationException("mosquitto_passwd (Debian's mosquitto package) was not found");
            using (var process = Process.Start(new ProcessStartInfo(passwd, ["-b", "-c", Path.Combine(directory, "passwords"), "shop", "s3cret"]) { RedirectStandardError = true })!)
            {
                process.WaitForExit();
                Assert.Equal(0, process.ExitCode);
            }

            return $"""

                listener {_passwordPort} 127.0.0.1
                allow_anonymous false
                password_file {Path.Combine(directory, "passwords")}
                cafile {CaFile}
                certfile {Path.Combine(directory, "server.pem")}
                keyfile {Path.Combine(directory, "server-key.pem")}

                listener {_certificatePort} 127.0.0.1
                allow_anonymous true
                cafile {CaFile}
                certfile {Path.Combine(directory, "server.pem")}
                keyfile {Path.Combine(directory, "server-key.pem")}
                require_certificate true

                """;
        });
    }

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task OverTlsWithAPassword_CallsWork()
    {
        await using var cluster = Cluster(o =>
        {
            o.Server = $"127.0.0.1:{_passwordPort}";
            o.UseTls = true;
            o.CaCertificateFile = CaFile;
            o.Username = "shop";
            o.Password = "s3cret";
        });
        await cluster.StartAsync(client: false, server: true);
        var client = await cluster.StartAsync(client: true, server: false);

        Assert.Equal(5, await client.GetRequiredService<IIntegrationService>().AddAsync(2, 3));
    }

    [Fact]
    public async Task OverTlsWithAClientCertificate_CallsWork()
    {
        await using var cluster = Cluster(o =>
        {
            o.Server = $"127.0.0.1:{_certificatePort}";
            o.UseTls = true;
            o.CaCertificateFile = CaFile;
            o.ClientCertificateFile = ClientCertificateFile;
            o.ClientKeyFile = ClientKeyFile;
        });
        await cluster.StartAsync(client: false, server: true);
        var client = await cluster.StartAsync(client: true, server: false);

        Assert.Equal(9, await client.GetRequiredService<IIntegrationService>().AddAsync(4, 5));
    }

    [Theory]
    [InlineData("a wrong password")]
    [InlineData("no password")]
    [InlineData("a certificate authority the broker's certificate does not chain to")]
    [InlineData("no client certificate where the broker wants one")]
    public async Task ABrokerThatRefusesTheConnection_FailsTheStart_SayingWhy(string what)
    {
        await using var cluster = Cluster(o =>
        {
            o.UseTls = true;
            o.CaCertificateFile = CaFile;
            o.Server = $"127.0.0.1:{_passwordPort}";
            o.Username = "shop";
            o.Password = "s3cret";
            switch (what)
            {
                case "a wrong password":
                    o.Password = "guess";
                    break;
                case "no password":
                    o.Username = null;
                    o.Password = null;
                    break;
                case "a certificate authority the broker's certificate does not chain to":
                    o.CaCertificateFile = OtherCaFile;
                    break;
                default:
                    o.Server = $"127.0.0.1:{_certificatePort}";
                    break;
            }
        });

        var error = await Assert.ThrowsAnyAsync<Exception>(() => cluster.StartAsync(client: true, server: false));

        var message = error.ToString();
        Assert.Contains("127.0.0.1:", message, StringComparison.Ordinal);
        Assert.True(message.Contains("refused", StringComparison.Ordinal) || message.Contains("Could not connect", StringComparison.Ordinal), message);
    }

    private MqttCluster Cluster(Action<MqttTransportOptions> configure)
    {
        var ns = Redis.RedisServerFixture.NewNamespace();
        // Raw publishes (none here) would use the plain listener; the instances use the one configured.
        return new MqttCluster(MosquittoFixture.Given($"{_broker.Host}:{_broker.Port}"), () => redis.CreateStore(ns), ns) { ConfigureTransport = configure };
    }

    /// <summary>A certificate authority, the broker's certificate (for 127.0.0.1) and a client's, signed by it; and another authority.</summary>
    private static void WriteCertificates(string directory)
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=TypedRpc test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem());

        Issue(ca, "CN=127.0.0.1", server: true, Path.Combine(directory, "server.pem"), Path.Combine(directory, "server-key.pem"));
        Issue(ca, "CN=shop", server: false, Path.Combine(directory, "client.pem"), Path.Combine(directory, "client-key.pem"));

        using var otherKey = RSA.Create(2048);
        var otherRequest = new CertificateRequest("CN=Another CA", otherKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        otherRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var other = otherRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(Path.Combine(directory, "other-ca.pem"), other.ExportCertificatePem());
    }

    private static void Issue(X509Certificate2 ca, string subject, bool server, string certificateFile, string keyFile)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
        }

        var serial = RandomNumberGenerator.GetBytes(12);
        using var certificate = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }
}
