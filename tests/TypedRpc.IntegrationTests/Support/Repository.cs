using System;
using System.IO;

namespace TypedRpc.IntegrationTests;

/// <summary>Where the repository and this test run's build live (for tests that pack or run its projects).</summary>
internal static class Repository
{
    /// <summary>The build configuration of the running test assembly.</summary>
    public static string Configuration => AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The folder holding TypedRpc.sln, above the test assembly.</summary>
    public static string Root()
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "TypedRpc.sln")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        return directory ?? throw new InvalidOperationException("The repository root was not found above " + AppContext.BaseDirectory);
    }
}
