using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// What a user gets from the packages: every package is packed to a folder, each has the metadata
/// a registry shows (description, README, license, repository) and declares what it depends on, and
/// a fresh project outside the repository restores TypedRpc, TypedRpc.Kafka, TypedRpc.Mqtt,
/// TypedRpc.Redis and TypedRpc.DevServices from it (Confluent.Kafka, librdkafka.redist and MQTTnet
/// from the registry) with no warning, and its contract is generated, compiled and called on the
/// in-memory transport, over Kafka (the dev services' mock cluster, on the librdkafka the packages
/// brought) and over MQTT (a mosquitto the dev services start).
/// </summary>
public sealed class PackageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task APackedTypedRpc_GeneratesAndRunsAContractInAFreshProject()
    {
        var repo = Repository.Root();
        var configuration = Repository.Configuration;
        var work = Directory.CreateTempSubdirectory("typedrpc-pack-");
        try
        {
            var feed = Directory.CreateDirectory(Path.Combine(work.FullName, "feed")).FullName;
            // A version of its own per run, so a package cached by an earlier run is never reused.
            var version = "0.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);
            foreach (var package in Packages)
            {
                var packed = await Run(repo, "dotnet", $"pack src/{package}/{package}.csproj -c {configuration} --no-build -o \"{feed}\" -p:Version={version}");
                Assert.DoesNotContain("warning", packed, StringComparison.OrdinalIgnoreCase);
                AssertMetadata(Path.Combine(feed, $"{package}.{version}.nupkg"), package);
            }

            // The dev services are for tests: no production package depends on them (nor on Garnet),
            // and they name what they use (the Kafka transport, at the same version, and Garnet).
            foreach (var package in Packages.Where(p => p != "TypedRpc.DevServices"))
            {
                Assert.DoesNotContain("TypedRpc.DevServices", Dependencies(Path.Combine(feed, $"{package}.{version}.nupkg")).Keys);
                Assert.DoesNotContain("Microsoft.Garnet", Dependencies(Path.Combine(feed, $"{package}.{version}.nupkg")).Keys);
            }

            var devServices = Dependencies(Path.Combine(feed, $"TypedRpc.DevServices.{version}.nupkg"));
            // Garnet's identity dependencies are named at a version the registry serves, so a user's
            // restore resolves them exactly (no NU1603).
            Assert.Equal(
                new[] { "Microsoft.Garnet", "Microsoft.IdentityModel.Protocols.OpenIdConnect", "Microsoft.IdentityModel.Validators", "System.IdentityModel.Tokens.Jwt", "TypedRpc.Kafka" },
                devServices.Keys.Order(StringComparer.Ordinal).ToArray());
            Assert.Equal(version, devServices["TypedRpc.Kafka"]);
            Assert.Equal("2.2.12", devServices["Microsoft.Garnet"]);
            Assert.Equal(new[] { "lib/net10.0/TypedRpc.DevServices.dll", "lib/net10.0/TypedRpc.DevServices.xml" }, LibFiles(Path.Combine(feed, $"TypedRpc.DevServices.{version}.nupkg")));

            // The generator is inside TypedRpc, in exactly one analyzers slot, and nowhere else.
            using (var typedRpc = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed, $"TypedRpc.{version}.nupkg")))
            {
                var analyzers = typedRpc.Entries.Where(e => e.FullName.StartsWith("analyzers/", StringComparison.Ordinal)).Select(e => e.FullName).ToArray();
                Assert.Equal(new[] { "analyzers/dotnet/roslyn4.8/cs/TypedRpc.Generators.dll" }, analyzers);
            }

            using (var abstractions = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed, $"TypedRpc.Abstractions.{version}.nupkg")))
            {
                Assert.DoesNotContain(abstractions.Entries, e => e.FullName.StartsWith("analyzers/", StringComparison.Ordinal));
            }

            // Kafka's package names Confluent.Kafka at the version built and tested with (a lower bound;
            // it brings librdkafka.redist itself), and the engine and the Redis store (its reply-partition
            // leases) at the same version; Redis's names StackExchange.Redis at its supported minimum and
            // never the Kafka transport, so another transport over Redis does not bring librdkafka.
            var kafka = Dependencies(Path.Combine(feed, $"TypedRpc.Kafka.{version}.nupkg"));
            Assert.Equal(version, kafka["TypedRpc"]);
            Assert.Equal(version, kafka["TypedRpc.Redis"]);
            Assert.Equal(PackageVersion(repo, "Confluent.Kafka"), kafka["Confluent.Kafka"]);
            Assert.DoesNotContain("librdkafka.redist", kafka.Keys);
            Assert.Contains(kafka.Keys, id => id.StartsWith("Microsoft.Extensions.Options", StringComparison.Ordinal));
            Assert.Equal(new[] { "lib/net10.0/TypedRpc.Kafka.dll", "lib/net10.0/TypedRpc.Kafka.xml" }, LibFiles(Path.Combine(feed, $"TypedRpc.Kafka.{version}.nupkg")));
            // Its build file roots Confluent.Kafka in trimmed and Native AOT publishes of every consumer (README "Native AOT").
            using (var kafkaPackage = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed, $"TypedRpc.Kafka.{version}.nupkg")))
            {
                var targets = kafkaPackage.Entries.Single(e => e.FullName == "buildTransitive/TypedRpc.Kafka.targets");
                using var reader = new StreamReader(targets.Open());
                Assert.Contains("<TrimmerRootAssembly Include=\"Confluent.Kafka\" />", reader.ReadToEnd(), StringComparison.Ordinal);
            }

            var redis = Dependencies(Path.Combine(feed, $"TypedRpc.Redis.{version}.nupkg"));
            Assert.Equal(version, redis["TypedRpc"]);
            Assert.Equal("2.13.23", redis["StackExchange.Redis"]);
            Assert.DoesNotContain("TypedRpc.Kafka", redis.Keys);
            Assert.DoesNotContain("Confluent.Kafka", redis.Keys);
            Assert.Equal(new[] { "lib/net10.0/TypedRpc.Redis.dll", "lib/net10.0/TypedRpc.Redis.xml" }, LibFiles(Path.Combine(feed, $"TypedRpc.Redis.{version}.nupkg")));
            Assert.Equal(version, Dependencies(Path.Combine(feed, $"TypedRpc.AspNetCore.{version}.nupkg"))["TypedRpc"]);
            // The MQTT transport needs nothing of Kafka's: the engine and MQTTnet.
            var mqtt = Dependencies(Path.Combine(feed, $"TypedRpc.Mqtt.{version}.nupkg"));
            Assert.Equal(version, mqtt["TypedRpc"]);
            Assert.Equal(PackageVersion(repo, "MQTTnet"), mqtt["MQTTnet"]);
            Assert.DoesNotContain(mqtt.Keys, id => id.Contains("Kafka", StringComparison.Ordinal));
            Assert.Equal(new[] { "lib/net10.0/TypedRpc.Mqtt.dll", "lib/net10.0/TypedRpc.Mqtt.xml" }, LibFiles(Path.Combine(feed, $"TypedRpc.Mqtt.{version}.nupkg")));

            var app = Directory.CreateDirectory(Path.Combine(work.FullName, "app")).FullName;
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="local" value="{feed}" />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="TypedRpc" Version="{version}" />
                    <PackageReference Include="TypedRpc.Redis" Version="{version}" />
                    <PackageReference Include="TypedRpc.Kafka" Version="{version}" />
                    <PackageReference Include="TypedRpc.Mqtt" Version="{version}" />
                    <PackageReference Include="TypedRpc.DevServices" Version="{version}" />
                    <PackageReference Include="Microsoft.Extensions.DependencyInjection" Version="10.0.14" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), """
                using Microsoft.Extensions.DependencyInjection;
                using TypedRpc;
                using TypedRpc.DevServices;
                using TypedRpc.Hosting;
                using TypedRpc.Kafka;

                var services = new ServiceCollection();
                services.AddTypedRpc().UseInMemoryTransport().UseInMemoryOwnershipStore()
                    .AddClient<Demo.IGreeter>().AddServer<Demo.Greeter>();
                await using var provider = services.BuildServiceProvider();
                var runtime = provider.GetRequiredService<TypedRpcRuntime>();
                await runtime.StartAsync(default);
                Console.WriteLine(await provider.GetRequiredService<Demo.IGreeter>().GreetAsync("package"));
                await runtime.StopAsync(default);

                // The Redis store's registration compiles from its package (not started: no Redis here).
                new ServiceCollection().AddTypedRpc().UseInMemoryTransport().AddRedis(r => r.Configuration = "localhost:6379");

                // Over Kafka: the dev services' mock cluster, on the librdkafka the packages brought.
                using (var kafka = new EmbeddedKafka())
                {
                    kafka.CreateTopic("greeter.requests", 2);
                    kafka.CreateTopic("default.replies", 2);
                    var overKafka = new ServiceCollection();
                    overKafka.AddTypedRpc().AddKafka(kafka.ConfigureTransport).UseInMemoryOwnershipStore()
                        .AddClient<Demo.IGreeter>().AddServer<Demo.Greeter>();
                    await using var kafkaProvider = overKafka.BuildServiceProvider();
                    var kafkaRuntime = kafkaProvider.GetRequiredService<TypedRpcRuntime>();
                    await kafkaRuntime.StartAsync(default);
                    Console.WriteLine(await kafkaProvider.GetRequiredService<Demo.IGreeter>().GreetAsync("kafka"));
                    await kafkaRuntime.StopAsync(default);
                    Console.WriteLine($"librdkafka {KafkaNativeLibrary.Version} from {KafkaNativeLibrary.LoadedFrom}");
                }

                // Over MQTT 5: a mosquitto started by the dev services.
                await using (var broker = await LocalMosquitto.StartAsync())
                {
                    var overMqtt = new ServiceCollection();
                    overMqtt.AddTypedRpc().AddMqtt(o => o.Server = $"{broker.Host}:{broker.Port}").UseInMemoryOwnershipStore()
                        .AddClient<Demo.IGreeter>().AddServer<Demo.Greeter>();
                    await using var mqttProvider = overMqtt.BuildServiceProvider();
                    var mqttRuntime = mqttProvider.GetRequiredService<TypedRpcRuntime>();
                    await mqttRuntime.StartAsync(default);
                    Console.WriteLine(await mqttProvider.GetRequiredService<Demo.IGreeter>().GreetAsync("mqtt"));
                    await mqttRuntime.StopAsync(default);
                }

                namespace Demo
                {
                    [AsyncSyncContract("greeter")]
                    public interface IGreeter
                    {
                        Task<string> GreetAsync(string name, CancellationToken cancellationToken = default);
                    }

                    public sealed class Greeter : GreeterBase
                    {
                        public override Task<string> GreetAsync(string name, RpcServerCallContext context) => Task.FromResult("hello " + name);
                    }
                }
                """);

            var restore = await Run(app, "dotnet", "restore");
            Assert.DoesNotContain("warning", restore, StringComparison.OrdinalIgnoreCase);
            var run = await Run(app, "dotnet", "run -c Release --no-restore");
            Assert.DoesNotContain("warning", run, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("hello package", run, StringComparison.Ordinal);
            Assert.Contains("hello kafka", run, StringComparison.Ordinal);
            Assert.Contains("hello mqtt", run, StringComparison.Ordinal);
            Assert.Contains($"librdkafka {PackageVersion(repo, "Confluent.Kafka")} from {app}/bin/Release/net10.0/runtimes/", run, StringComparison.Ordinal);
        }
        finally
        {
            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }

    private static readonly string[] Packages = ["TypedRpc.Abstractions", "TypedRpc", "TypedRpc.Kafka", "TypedRpc.Mqtt", "TypedRpc.Redis", "TypedRpc.AspNetCore", "TypedRpc.DevServices"];

    // What a registry shows about a package: its description, its README (packed), its license and
    // where its source is.
    private static void AssertMetadata(string package, string id)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(package);
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        System.Xml.Linq.XElement metadata;
        using (var stream = nuspec.Open())
        {
            metadata = System.Xml.Linq.XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        }

        string? Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
        System.Xml.Linq.XElement? Element(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name);

        Assert.Equal(id, Value("id"));
        Assert.False(string.IsNullOrWhiteSpace(Value("description")), $"{id}: no description");
        Assert.DoesNotContain("$", Value("description"), StringComparison.Ordinal);
        Assert.Equal("README.md", Value("readme"));
        using (var readme = new StreamReader(zip.GetEntry("README.md")?.Open() ?? throw new Xunit.Sdk.XunitException($"{id}: README.md is not in the package")))
        {
            Assert.StartsWith("# " + id + "\n", readme.ReadToEnd(), StringComparison.Ordinal);
        }

        Assert.Equal("expression", (string?)Element("license")?.Attribute("type"));
        Assert.Equal("MIT", Value("license"));
        var repository = Element("repository") ?? throw new Xunit.Sdk.XunitException($"{id}: no repository");
        Assert.Equal("git", (string?)repository.Attribute("type"));
        Assert.StartsWith("https://", (string?)repository.Attribute("url"), StringComparison.Ordinal);
        Assert.Equal((string?)repository.Attribute("url"), Value("projectUrl"));
    }

    private static System.Collections.Generic.Dictionary<string, string> Dependencies(string package)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(package);
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspec.Open();
        var document = System.Xml.Linq.XDocument.Load(stream);
        return document.Descendants().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!, StringComparer.Ordinal);
    }

    // The central version of a package (Directory.Packages.props).
    private static string PackageVersion(string repo, string id) =>
        System.Xml.Linq.XDocument.Load(Path.Combine(repo, "Directory.Packages.props")).Descendants("PackageVersion")
            .Single(e => (string?)e.Attribute("Include") == id).Attribute("Version")!.Value;

    private static string[] LibFiles(string package)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(package);
        return zip.Entries.Select(e => e.FullName).Where(n => n.StartsWith("lib/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
    }

    private async Task<string> Run(string directory, string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Outside the repository: none of its Directory.*.props apply, as for a real user.
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        var text = await stdout + await stderr;
        output.WriteLine($"$ {file} {arguments}\n{text}");
        Assert.True(process.ExitCode == 0, $"{file} {arguments} failed ({process.ExitCode}):\n{text}");
        return text;
    }
}
