using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace TypedRpc.Kafka;

/// <summary>
/// Loads librdkafka, Confluent.Kafka's native library, from the files of the <c>librdkafka.redist</c>
/// package the application was built with, so that a system-wide librdkafka never takes its place.
/// </summary>
/// <remarks>
/// On Linux, <see cref="Load"/> registers a resolver for Confluent.Kafka's assembly that looks only
/// in the application's native-library directories: the package's <c>librdkafka.so</c> when it
/// loads, else its <c>centos8-librdkafka.so</c> (the same version without SASL/GSSAPI, so Kerberos
/// authentication is not available with it). It stands aside, leaving the runtime's default, on
/// other systems, when the application set its own resolver for Confluent.Kafka, when librdkafka is
/// already loaded, or when no package file is found (docs/operations.md, "The native Kafka client").
/// TypedRpc's Kafka transport and <c>EmbeddedKafka</c> call <see cref="Load"/> before they build a
/// client; call it yourself before building Confluent.Kafka clients of your own ahead of them.
/// </remarks>
public static class KafkaNativeLibrary
{
    private const string LibraryName = "librdkafka";

    // In the order tried, in each directory: the package's default Linux build, then the one that
    // needs no libsasl2.
    private static readonly string[] LinuxFiles = ["librdkafka.so", "centos8-librdkafka.so"];

    private static readonly object s_lock = new();
    private static bool s_resolverInstalled;
    private static bool s_resolved;
    private static IntPtr s_handle;
    private static string? s_path;
    private static string? s_skipped;

    /// <summary>
    /// Makes sure librdkafka is loaded, through the resolver described on this class where it
    /// applies. Safe to call any number of times, from any thread.
    /// </summary>
    /// <exception cref="DllNotFoundException">No librdkafka could be loaded.</exception>
    public static void Load()
    {
        lock (s_lock)
        {
            if (!s_resolverInstalled)
            {
                s_resolverInstalled = true;
                InstallResolver();
            }
        }

        // Confluent.Kafka loads the library on first use; asking its version is such a use, so a
        // missing library is reported here rather than from the first client's constructor.
        _ = Confluent.Kafka.Library.Version;
    }

    /// <summary>The loaded librdkafka's version, e.g. <c>2.16.0</c> (loads it first).</summary>
    public static string Version
    {
        get
        {
            Load();
            return Confluent.Kafka.Library.VersionString;
        }
    }

    /// <summary>
    /// The file the resolver loaded, or <see langword="null"/> when the runtime's default search
    /// loaded librdkafka (see the class remarks). Loads it first.
    /// </summary>
    public static string? LoadedFrom
    {
        get
        {
            Load();
            lock (s_lock)
            {
                return s_path;
            }
        }
    }

    // Why package files were passed over before the one loaded (the loader's message for each), or
    // null when the first one tried loaded; for the transport's start-up log line.
    internal static string? PassedOver
    {
        get
        {
            Load();
            lock (s_lock)
            {
                return s_skipped;
            }
        }
    }

    /// <summary>
    /// The operating system's handle of the loaded librdkafka, for binding further entry points of
    /// the very library Confluent.Kafka uses (TypedRpc.DevServices binds the mock cluster's this way).
    /// Loads it first.
    /// </summary>
    /// <exception cref="DllNotFoundException">No librdkafka could be loaded.</exception>
    public static IntPtr Handle
    {
        get
        {
            Load();
            lock (s_lock)
            {
                if (s_handle != IntPtr.Zero)
                {
                    return s_handle;
                }
            }

            // The runtime's default search loaded it for Confluent.Kafka: the same search, relative
            // to the same assembly, finds the same file, and the loader hands out the handle it has.
            return NativeLibrary.Load(LibraryName, ConfluentAssembly, null);
        }
    }

    private static Assembly ConfluentAssembly => typeof(Confluent.Kafka.Library).Assembly;

    private static void InstallResolver()
    {
        if (!OperatingSystem.IsLinux() || Confluent.Kafka.Library.IsLoaded)
        {
            return;
        }

        try
        {
            NativeLibrary.SetDllImportResolver(ConfluentAssembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // The application registered its own resolver for Confluent.Kafka: it decides.
        }
    }

    // Called by the runtime for every native library Confluent.Kafka's P/Invokes name, once per
    // entry point; IntPtr.Zero hands the name back to the runtime's default search.
    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!string.Equals(libraryName, LibraryName, StringComparison.Ordinal))
        {
            return IntPtr.Zero;
        }

        lock (s_lock)
        {
            if (!s_resolved)
            {
                s_resolved = true;
                (s_handle, s_path, s_skipped) = FindPackaged();
            }

            return s_handle;
        }
    }

    private static (IntPtr Handle, string? Path, string? Skipped) FindPackaged()
    {
        StringBuilder? skipped = null;
        foreach (var directory in NativeDirectories())
        {
            foreach (var file in LinuxFiles)
            {
                var path = Path.Combine(directory, file);
                if (!File.Exists(path))
                {
                    continue;
                }

                try
                {
                    return (NativeLibrary.Load(path), path, skipped?.ToString());
                }
                catch (DllNotFoundException ex)
                {
                    // The loader's message names the missing dependency (e.g. libsasl2.so.3).
                    (skipped ??= new StringBuilder()).Append(skipped.Length == 0 ? string.Empty : "; ").Append(ex.Message);
                }
            }
        }

        return (IntPtr.Zero, null, skipped?.ToString());
    }

    // Where the runtime itself looks for the application's native assets (from its deps.json: the
    // output's runtimes/<rid>/native folder, or the package folder), then that folder under the
    // application's base directory in case the host did not say, then the base directory itself:
    // a self-contained single-file or Native AOT publish puts the native files beside the
    // executable, and no host names any directory (NATIVE_DLL_SEARCH_DIRECTORIES is unset).
    private static IEnumerable<string> NativeDirectories()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string list)
        {
            foreach (var directory in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (seen.Add(Path.TrimEndingDirectorySeparator(directory)))
                {
                    yield return directory;
                }
            }
        }

        var architecture = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        var fallback = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-" + architecture, "native");
        if (seen.Add(Path.TrimEndingDirectorySeparator(fallback)))
        {
            yield return fallback;
        }

        if (seen.Add(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)))
        {
            yield return AppContext.BaseDirectory;
        }
    }
}
