using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.DevServices;
using TypedRpc.Hosting;
using TypedRpc.Kafka;
using TypedRpc.Ownership;
using TypedRpc.ReliabilityTests.ServerHost;

namespace TypedRpc.IntegrationTests.Reliability;

/// <summary>
/// A deployment of the reliability contract for one fault test: a fresh mock Kafka cluster (the
/// mock slows down as partitions fill, so heavy tests never share one; or the broker named by
/// TYPEDRPC_KAFKA_BOOTSTRAP), a Redis namespace of its own, in-process client and server instances
/// (each its own service provider, as a process would have) and server host processes it can kill.
/// Side effects are counted per correlation id across all of them.
/// </summary>
public sealed class ReliabilityCluster : IAsyncDisposable
{
    private readonly EmbeddedKafka? _kafka;
    private readonly List<(IServiceProvider Provider, TypedRpcRuntime Runtime)> _instances = new();
    private readonly List<ServerProcess> _processes = new();
    private readonly ConcurrentDictionary<IServiceProvider, bool> _servers = new();
    private int _nextInstance;

    public ReliabilityCluster(string redisConfiguration, int claimTtlMs = 3_000)
    {
        var external = Environment.GetEnvironmentVariable(KafkaFixture.BootstrapVariable);
        if (string.IsNullOrWhiteSpace(external))
        {
            _kafka = new EmbeddedKafka(brokers: 1);
        }

        // A real broker refuses sessions shorter than its group.min.session.timeout.ms (6 s by default).
        Settings = new ReliabilitySettings(_kafka?.BootstrapServers ?? external!, KafkaFixture.Unique("rel"), redisConfiguration,
            Redis.RedisServerFixture.NewNamespace(), claimTtlMs, SessionTimeoutMs: _kafka is null ? 6_000 : 3_000).WithKnobsFromEnvironment();
        if (_kafka is not null)
        {
            _kafka.CreateTopic(Settings.RequestTopic, ReliabilitySettings.RequestPartitions);
            _kafka.CreateTopic(Settings.ReplyTopic, ReliabilitySettings.ReplyPartitions);
            _kafka.CreateTopic(Settings.DeadLetterTopic, 1);
        }
    }

    public ReliabilitySettings Settings { get; }

    /// <summary>The mock cluster, when the test runs on one (for broker faults).</summary>
    public EmbeddedKafka? Kafka => _kafka;

    /// <summary>Side effects per correlation id, from every server instance, in-process or not.</summary>
    public ConcurrentDictionary<string, int> Effects { get; } = new();

    public IReadOnlyList<IServiceProvider> Instances
    {
        get
        {
            lock (_instances)
            {
                return _instances.Select(i => i.Provider).ToArray();
            }
        }
    }

    public async Task<IServiceProvider> StartAsync(bool client, bool server, Action<TypedRpcOptions>? configure = null, IRpcOwnershipStore? store = null,
        Action<KafkaTransportOptions>? kafka = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IEffectLog>(new CountingEffectLog(Effects));
        var id = $"{Settings.Name}-{Interlocked.Increment(ref _nextInstance)}";
        if (FileLoggerFactory.For(id) is { } logs)
        {
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(logs);
            services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(Microsoft.Extensions.Logging.Logger<>));
        }

        var builder = services.AddTypedRpc(o =>
        {
            Settings.Configure(o);
            o.InstanceId = id;
            configure?.Invoke(o);
        }).AddKafka(o =>
        {
            Settings.Configure(o, _kafka is not null);
            kafka?.Invoke(o);
        });
        if (store is null)
        {
            builder.AddRedis(Settings.Configure);
        }
        else
        {
            services.AddSingleton(store);
            if (store is IRpcClaimStore claims)
            {
                services.AddSingleton(claims);
            }
        }

        if (client)
        {
            builder.AddClient<IReliabilityService>();
        }

        if (server)
        {
            builder.AddServer<ReliabilityService>();
        }

        var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<TypedRpcRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        lock (_instances)
        {
            _instances.Add((provider, runtime));
        }

        if (server)
        {
            _servers[provider] = true;
        }

        return provider;
    }

    /// <summary>Waits until every in-process server holds request partitions (the group has settled).</summary>
    public async Task WaitForServersAsync(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (_servers.Keys.Any(s => s.GetRequiredService<KafkaRpcTransport>().AssignedRequestPartitions == 0))
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException("The server group did not settle in time.");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Stops an instance gracefully: drain, commit, release, close.</summary>
    public async Task StopAsync(IServiceProvider instance)
    {
        var entry = Take(instance);
        await entry.Runtime.StopAsync(CancellationToken.None);
        await ((ServiceProvider)entry.Provider).DisposeAsync();
    }

    /// <summary>
    /// Kills an instance from inside the process: disposed without drain (running handlers are cut
    /// off, nothing is committed for them). With <paramref name="abandonKafkaClients"/>, its Kafka
    /// clients are first dropped without commit, leave or lease release, as a crash would — used for
    /// callers only: abandoning a cooperative-sticky group member and destroying it later trips an
    /// assertion in librdkafka 2.0.2 (rd_kafka_sticky_assignor_state_destroy) that aborts the process.
    /// </summary>
    public async Task KillAsync(IServiceProvider instance, bool abandonKafkaClients = false)
    {
        var entry = Take(instance);
        if (abandonKafkaClients)
        {
            await instance.GetRequiredService<KafkaRpcTransport>().SimulateCrashAsync();
        }

        await entry.Runtime.StopAsync(CancellationToken.None);
        await ((ServiceProvider)entry.Provider).DisposeAsync();
    }

    /// <summary>Starts a server instance in a process of its own and waits until it holds request partitions.</summary>
    public async Task<ServerProcess> StartProcessAsync(TimeSpan timeout)
    {
        var id = $"{Settings.Name}-p{Interlocked.Increment(ref _nextInstance)}";
        var process = ServerProcess.Start(HostPath(), Settings.ToArguments(id, _kafka is not null), Effects);
        lock (_processes)
        {
            _processes.Add(process);
        }

        await process.Ready.WaitAsync(timeout);
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.KillAsync();
        }

        (IServiceProvider Provider, TypedRpcRuntime Runtime)[] instances;
        lock (_instances)
        {
            instances = _instances.ToArray();
            _instances.Clear();
        }

        foreach (var (provider, runtime) in instances)
        {
            await runtime.StopAsync(CancellationToken.None);
            await ((ServiceProvider)provider).DisposeAsync();
        }

        _kafka?.Dispose();
    }

    private (IServiceProvider Provider, TypedRpcRuntime Runtime) Take(IServiceProvider instance)
    {
        lock (_instances)
        {
            var index = _instances.FindIndex(i => ReferenceEquals(i.Provider, instance));
            var entry = _instances[index];
            _instances.RemoveAt(index);
            _servers.TryRemove(instance, out _);
            return entry;
        }
    }

    // The host's own build output, next to this test project's: tests/<project>/bin/<configuration>/<tfm>/.
    private static string HostPath()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = here.Name;
        var configuration = here.Parent!.Name;
        var tests = here.Parent.Parent!.Parent!.Parent!.FullName;
        const string Name = "TypedRpc.ReliabilityTests.ServerHost";
        var path = Path.Combine(tests, Name, "bin", configuration, tfm, Name + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build the server host first (it is part of TypedRpc.sln).", path);
    }

    private sealed class CountingEffectLog(ConcurrentDictionary<string, int> effects) : IEffectLog
    {
        public void Record(string correlationId, string instanceId) => effects.AddOrUpdate(correlationId, 1, (_, c) => c + 1);
    }
}

/// <summary>A server host process: its side effects (read from its stdout) and a kill.</summary>
public sealed class ServerProcess
{
    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reading;
    private int _killed;

    private ServerProcess(Process process, ConcurrentDictionary<string, int> effects)
    {
        _process = process;
        _reading = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("fx ", StringComparison.Ordinal))
                {
                    effects.AddOrUpdate(line[3..], 1, (_, c) => c + 1);
                }
                else if (line == "ready")
                {
                    _ready.TrySetResult();
                }
            }

            _ready.TrySetException(new InvalidOperationException("The server host exited before it was ready."));
        });
        _ = Task.Run(async () =>
        {
            // Drained so that the process never blocks on a full stderr pipe.
            while (await process.StandardError.ReadLineAsync() is not null)
            {
            }
        });
    }

    public Task Ready => _ready.Task;

    public static ServerProcess Start(string dll, IEnumerable<string> arguments, ConcurrentDictionary<string, int> effects)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return new ServerProcess(Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start."), effects);
    }

    /// <summary>SIGKILL, then waits until every side effect it wrote has been read.</summary>
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref _killed, 1) != 0)
        {
            return;
        }

        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await _reading.WaitAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
    }
}
