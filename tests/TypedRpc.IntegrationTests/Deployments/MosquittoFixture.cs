using System;
using System.Threading;
using System.Threading.Tasks;
using TypedRpc.DevServices;
using Xunit;

namespace TypedRpc.IntegrationTests;

/// <summary>
/// One MQTT 5 broker for the whole test run: a <see cref="LocalMosquitto"/>, or the broker named by
/// <c>TYPEDRPC_MQTT</c> (<c>host:port</c>). Tests isolate themselves by topic and client names.
/// </summary>
public sealed class MosquittoFixture : IAsyncLifetime
{
    public const string EnvironmentVariable = "TYPEDRPC_MQTT";
    private static int s_counter;

    /// <summary>The broker started for this run, or <see langword="null"/> when it is an external one.</summary>
    public LocalMosquitto? Local { get; private set; }

    /// <summary>The broker, <c>host:port</c>.</summary>
    public string Server { get; private set; } = string.Empty;

    /// <summary>A name unique to this run, for topics and instances.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}";

    /// <summary>A broker the caller started and stops itself.</summary>
    public static MosquittoFixture Given(string server) => new() { Server = server };

    /// <summary>A broker of the caller's own (a test that restarts it), always a <see cref="LocalMosquitto"/>.</summary>
    public static async Task<MosquittoFixture> StartLocalAsync()
    {
        var fixture = new MosquittoFixture();
        fixture.Local = await LocalMosquitto.StartAsync();
        fixture.Server = $"{fixture.Local.Host}:{fixture.Local.Port}";
        return fixture;
    }

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            Server = external;
            return;
        }

        Local = await LocalMosquitto.StartAsync();
        Server = $"{Local.Host}:{Local.Port}";
    }

    public async Task DisposeAsync()
    {
        if (Local is not null)
        {
            await Local.DisposeAsync();
        }
    }
}
