using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// The C# of README.md and docs/*.md compiles as a user would paste it: every <c>```csharp</c> block
/// not marked <c>&lt;!-- not compiled: reason --&gt;</c> (see <see cref="MarkdownCodeBlock"/>) becomes
/// a file of one project outside the repository — nullable and implicit usings on, warnings as
/// errors, the repository's projects referenced as a user references their packages, the generator
/// as an analyzer — and one <c>dotnet build</c> must succeed. The blocks compile together because
/// the README's tour builds on itself (the server uses the contract, the programs use both); a
/// block of top-level statements becomes a method of a class of its own (<see cref="DocSource"/>),
/// since a project has only one <c>Program.cs</c>. Errors are reported at the page and line of the
/// block they come from. The project is a test project: the README's xUnit examples (its "Testing
/// your services") then run with <c>dotnet test</c> and must pass, as they would for a user who
/// pasted them. It runs in the shared collection, one test after another, so that its
/// build (~20 s of both cores) does not slow down the timing checks of the other tests.
/// </summary>
[Collection(Redis.RedisCollection.Name)]
public sealed class DocumentationCompileTests(ITestOutputHelper output)
{
    [Fact]
    public async Task EveryCSharpBlockOfTheReadmeAndTheDocs_Compiles_AndItsTestsPass()
    {
        var repo = Repository.Root();
        var pages = new[] { Path.Combine(repo, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(repo, "docs"), "*.md").Order(StringComparer.Ordinal))
            .ToArray();
        var blocks = pages.SelectMany(MarkdownCodeBlock.ReadCSharp).ToArray();
        Assert.All(blocks.Where(b => b.NotCompiled is not null), b => Assert.True(b.NotCompiled!.Length > 0, $"{b.Page}:{b.Line}: the block's 'not compiled' marker must say why"));
        var compiled = blocks.Where(b => b.NotCompiled is null).ToArray();
        Assert.Contains(compiled, b => b.Page.EndsWith("README.md", StringComparison.Ordinal));
        foreach (var block in blocks)
        {
            output.WriteLine($"{Path.GetFileName(block.Page)}:{block.Line} {(block.NotCompiled is null ? "compiled" : "not compiled: " + block.NotCompiled)}");
        }

        var work = Directory.CreateTempSubdirectory("typedrpc-docs-");
        try
        {
            File.WriteAllText(Path.Combine(work.FullName, "Documentation.csproj"), Project(repo));
            foreach (var block in compiled)
            {
                File.WriteAllText(Path.Combine(work.FullName, DocSource.FileName(block)), DocSource.Of(block));
            }

            var (exitCode, text) = await Dotnet(work.FullName, $"build Documentation.csproj -c {Repository.Configuration} -nologo -tl:off -v:q");
            var errors = text.Split('\n').Select(l => l.Trim()).Where(l => l.Contains(": error ", StringComparison.Ordinal) || l.Contains(": warning ", StringComparison.Ordinal))
                .Distinct(StringComparer.Ordinal).ToArray();
            Assert.True(exitCode == 0 && errors.Length == 0, $"The documentation's C# does not compile:\n{string.Join('\n', errors)}\n\n{text}");

            // The README's test examples run on the in-memory transport and store: they must pass.
            var (testExit, testText) = await Dotnet(work.FullName, $"test Documentation.csproj -c {Repository.Configuration} --no-build -nologo");
            Assert.True(testExit == 0, $"The documentation's tests do not pass:\n{testText}");
            Assert.Contains("Passed!", testText, StringComparison.Ordinal);
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

    // Like a user's project: the packages' projects (the generator comes with the TypedRpc package),
    // ASP.NET Core for the HTTP edge, and xunit and its runner for the test examples (Confluent.Kafka
    // comes with TypedRpc.Kafka, as from its package).
    private static string Project(string repo) => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>enable</ImplicitUsings>
            <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
            <IsPackable>false</IsPackable>
          </PropertyGroup>
          <ItemGroup>
            <FrameworkReference Include="Microsoft.AspNetCore.App" />
            <PackageReference Include="xunit" Version="2.9.3" />
            <PackageReference Include="xunit.runner.visualstudio" Version="3.1.5" />
            <PackageReference Include="Microsoft.NET.Test.Sdk" Version="18.0.1" />
          </ItemGroup>
          <ItemGroup>
            <ProjectReference Include="{repo}/src/TypedRpc.Abstractions/TypedRpc.Abstractions.csproj" />
            <ProjectReference Include="{repo}/src/TypedRpc/TypedRpc.csproj" />
            <ProjectReference Include="{repo}/src/TypedRpc.Kafka/TypedRpc.Kafka.csproj" />
            <ProjectReference Include="{repo}/src/TypedRpc.Redis/TypedRpc.Redis.csproj" />
            <ProjectReference Include="{repo}/src/TypedRpc.AspNetCore/TypedRpc.AspNetCore.csproj" />
            <ProjectReference Include="{repo}/src/TypedRpc.DevServices/TypedRpc.DevServices.csproj" />
            <ProjectReference Include="{repo}/generators/TypedRpc.Generators/TypedRpc.Generators.csproj" OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
          </ItemGroup>
        </Project>
        """;

    private async Task<(int ExitCode, string Output)> Dotnet(string directory, string arguments)
    {
        var info = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        var text = await stdout + await stderr;
        output.WriteLine($"$ dotnet {arguments} ({watch.Elapsed.TotalSeconds:F1} s, exit {process.ExitCode})\n{text}");
        return (process.ExitCode, text);
    }
}
