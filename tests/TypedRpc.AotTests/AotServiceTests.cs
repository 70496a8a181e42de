using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Xunit;

namespace TypedRpc.AotTests;

/// <summary>
/// A TypedRpc service published with Native AOT: no trim or AOT warning from any assembly, and the
/// native executable serves and calls its contract over each transport.
/// </summary>
[Collection(PublishedSampleCollection.Name)]
public sealed partial class AotServiceTests(PublishedSample sample)
{
    [Fact]
    public void ThePublish_Succeeds_WithNoTrimOrAotWarning()
    {
        Assert.True(sample.PublishExitCode == 0, "dotnet publish failed:\n" + sample.PublishLog);
        var warnings = AnalysisWarning().Matches(sample.PublishLog).Select(m => m.Value).Distinct().ToArray();
        Assert.True(warnings.Length == 0, $"{warnings.Length} trim/AOT warnings:\n" + string.Join("\n", warnings));

        // A native executable, not a managed assembly started by a host.
        Assert.True(File.Exists(sample.Executable), "no executable " + sample.Executable);
        Assert.False(File.Exists(Path.Combine(sample.OutputDirectory, "AotService.dll")), "the publish holds a managed AotService.dll");
    }

    [Fact]
    public async Task BehindTheOneAcceptedWarning_AreOnlyConfluentKafkasOwn()
    {
        // The sample accepts IL2104 for Confluent.Kafka (NoWarn, see AotService.csproj). Published
        // with every warning shown on its own, nothing but the known ones inside Confluent.Kafka may
        // appear: a warning of any other assembly behind that NoWarn fails here.
        var output = Path.Combine(PublishedSample.Root, ".artifacts", "aot-sample-all-warnings");
        var (exitCode, log) = await PublishedSample.PublishAsync(output, "-p:TrimmerSingleWarn=false");

        Assert.True(exitCode == 0, "dotnet publish failed:\n" + log);
        var warnings = AnalysisWarning().Matches(log).Select(m => m.Value.Trim()).Distinct().ToArray();
        var foreign = warnings.Where(w => !KnownConfluentKafkaWarning().IsMatch(w)).ToArray();
        Assert.True(foreign.Length == 0, $"{foreign.Length} trim/AOT warnings besides Confluent.Kafka's known ones:\n" + string.Join("\n", foreign));
        Assert.NotEmpty(warnings); // the expanded publish did show Confluent.Kafka's (or it is annotated now: drop the NoWarn)
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("kafka")]
    [InlineData("mqtt")]
    public async Task TheNativeExecutable_CallsItsContract_RoundTripStreamAndErrorStatus(string transport)
    {
        Assert.True(sample.PublishExitCode == 0, "dotnet publish failed:\n" + sample.PublishLog);

        var (exitCode, output) = await PublishedSample.RunAsync(sample.Executable, ["--transport", transport], TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"runtime=aot transport={transport}", output);
        foreach (var check in new[] { "round-trip", "round-trip-record", "stream", "error-status" })
        {
            Assert.Contains($"check {check}: ok", output);
        }

        Assert.Contains("check error-status: ok (NotFound: No SKU 'sku-404' with 1 available.)", output);
        Assert.Matches(@"first-call-ms=\d+\.\d", output);
    }

    [Fact]
    public async Task WithoutItsJsonContext_TheStartFails_SayingToRegisterOne()
    {
        Assert.True(sample.PublishExitCode == 0, "dotnet publish failed:\n" + sample.PublishLog);

        var (exitCode, output) = await PublishedSample.RunAsync(sample.Executable, ["--json-context", "none"], TimeSpan.FromMinutes(1));

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains("start failed: TypedRpc has no JSON metadata for the contracts' types: reflection-based JSON is disabled", output);
        Assert.Contains(".UseJsonContext(MyJsonContext.Default)", output);
    }

    [Fact]
    public async Task WithAContextThatLacksContractTypes_TheStartFails_NamingEach()
    {
        Assert.True(sample.PublishExitCode == 0, "dotnet publish failed:\n" + sample.PublishLog);

        var (exitCode, output) = await PublishedSample.RunAsync(sample.Executable, ["--json-context", "partial"], TimeSpan.FromMinutes(1));

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains("start failed: The JSON serializer has no metadata for types the contracts use: " +
            "AotService.ReservationRequest (parameter 'request' of inventory/Reserve); AotService.Reservation (the reply of inventory/Reserve).", output);
        Assert.DoesNotContain("AotService.Stock ", output);
    }

    [Fact]
    public async Task TheNativeExecutable_RefusesAnUnknownOption()
    {
        Assert.True(sample.PublishExitCode == 0, "dotnet publish failed:\n" + sample.PublishLog);

        var (exitCode, output) = await PublishedSample.RunAsync(sample.Executable, ["--transport", "carrier-pigeon"], TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains("Unknown or incomplete option '--transport'", output);
    }

    // ILC's and the trimmer's analysis warnings (IL2xxx trimming, IL3xxx AOT and single-file), as
    // warnings or as errors.
    [GeneratedRegex(@"[^\r\n]*\b(warning|error) IL[23]\d{3}\b[^\r\n]*|[^\r\n]*(Trim|AOT) analysis (warning|error)[^\r\n]*")]
    private static partial Regex AnalysisWarning();

    // What Confluent.Kafka 2.16 does that the trimmer cannot follow: its P/Invoke binding by
    // reflection (kept whole by the root), AWS IAM OAUTHBEARER auto-wiring (an optional assembly
    // loaded by name: not available trimmed), and an unannotated Marshal.PtrToStructure<T>.
    [GeneratedRegex(@"\b(IL2067: Confluent\.Kafka\.Impl\.Librdkafka\.SetDelegates|IL20(26|75): Confluent\.Kafka\.Internal\.OAuthBearer\.Aws\.AwsAutoWireDispatcher\.|IL2091: Confluent\.Kafka\.Internal\.Util\.Marshal\.PtrToStructure)")]
    private static partial Regex KnownConfluentKafkaWarning();
}
