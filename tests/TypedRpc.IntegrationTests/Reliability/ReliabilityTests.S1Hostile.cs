using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using TypedRpc.DevServices;
using TypedRpc.ReliabilityTests.ServerHost;
using Xunit;

namespace TypedRpc.IntegrationTests.Reliability;

public sealed partial class ReliabilityTests
{
    /// <summary>
    /// What a hostile or careless peer can and cannot get, over Kafka and a redis-server of the
    /// test's own (watched with MONITOR): no exception details reach callers; the payload cap holds
    /// on both sides (an oversized reply fails its call with ResourceExhausted at once, also when
    /// retried; an oversized request record consumed is refused; an oversized reply record consumed
    /// is dead-lettered); a "$type" in a payload is not honoured; every Redis key and channel the run
    /// touches is inside the configured namespace.
    /// </summary>
    [Fact]
    public async Task S1_HostileInput_NoExceptionDetails_SizeCapBothWays_NoTypeNames_RedisStaysInItsNamespace()
    {
        await using var server = await LocalRedisServer.StartAsync();
        using var monitor = RedisMonitor.Start(server.Port);
        await using var cluster = new ReliabilityCluster(server.Configuration);
        var rawReplies = cluster.Settings.Name + ".raw-replies";
        cluster.Kafka?.CreateTopic(rawReplies, 1);
        const int Cap = 100_000;
        await cluster.StartAsync(client: false, server: true, kafka: o => o.MaxMessageBytes = Cap);
        var client = await cluster.StartAsync(client: true, server: false);
        var capped = await cluster.StartAsync(client: true, server: false, kafka: o => o.MaxMessageBytes = Cap);
        await cluster.WaitForServersAsync(Settle);
        await Service(client).ProcessAsync(0, RpcCallOptions.Default.WithTimeout(Settle));
        await Service(capped).ProcessAsync(0, RpcCallOptions.Default.WithTimeout(Settle));
        var deadline = TimeSpan.FromSeconds(20);
        var options = RpcCallOptions.Default.WithTimeout(deadline);

        // No exception details: the server's message and exception type stay on the server.
        const string Secret = "password=hunter2 at db-7.internal";
        var failed = await Assert.ThrowsAsync<RpcException>(() => Service(client).AnswerAsync(0, Secret, options));
        Assert.Equal(RpcStatusCode.Internal, failed.StatusCode);
        Assert.DoesNotContain("hunter2", failed.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(InvalidOperationException), failed.ToString(), StringComparison.Ordinal);

        // An oversized reply fails its call with an explicit status, long before the deadline; its
        // idempotent retry is answered from the completed claim with the same status (the claim holds
        // the error, not the refused reply).
        var clock = Stopwatch.StartNew();
        var keyed = options.WithIdempotencyKey("s1-oversized-reply");
        var tooBig = await Assert.ThrowsAsync<RpcException>(() => Service(client).AnswerAsync(Cap + 10_000, null, keyed));
        var firstMs = clock.ElapsedMilliseconds;
        var again = await Assert.ThrowsAsync<RpcException>(() => Service(client).AnswerAsync(Cap + 10_000, null, keyed));
        var bothMs = clock.ElapsedMilliseconds;
        Assert.Equal(RpcStatusCode.ResourceExhausted, tooBig.StatusCode);
        Assert.Contains("MaxMessageBytes", tooBig.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(RpcStatusCode.ResourceExhausted, again.StatusCode);
        Assert.True(bothMs < deadline.TotalMilliseconds / 2, $"The oversized reply took {bothMs} ms to fail (deadline {deadline.TotalMilliseconds} ms).");

        // An oversized request record (from a caller with a larger cap) is refused by the server: not run.
        cluster.Effects.Clear();
        var pad = new Dictionary<string, string> { ["x-pad"] = new string('p', Cap + 10_000) };
        var refused = await Assert.ThrowsAsync<RpcException>(() => Service(client).ProcessAsync(0, options.WithHeaders(pad)));
        Assert.Equal(RpcStatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("MaxMessageBytes", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(cluster.Effects);

        // An oversized reply record on a capped caller's partition is dead-lettered with its reason.
        using var raw = new RawKafka(cluster.Settings.Bootstrap);
        var address = capped.GetRequiredService<RpcClient>().ReplyAddress;
        var strayId = CorrelationId.NewId();
        var replyHeaders = new Headers { { "trpc-v", [1] }, { "trpc-id", strayId.ToByteArray() }, { "trpc-status", [0] }, { "trpc-seq", [0, 0, 0, 0] }, { "trpc-end", [1] } };
        await raw.ProduceAsync(address.Destination, Encoding.UTF8.GetBytes("s1-big-reply"), new byte[Cap + 10_000], replyHeaders, address.Partition);
        var dead = raw.Find(cluster.Settings.DeadLetterTopic, 1, d => Encoding.UTF8.GetString(d.Message.Key ?? []) == "s1-big-reply", TimeSpan.FromSeconds(20));
        Assert.NotNull(dead);
        var deadReason = RawKafka.Header(dead!, "trpc-dead-letter-reason");
        Assert.Contains("MaxMessageBytes", deadReason, StringComparison.Ordinal);
        Assert.Contains("not copied", deadReason, StringComparison.Ordinal);

        // "$type" is not honoured: the argument is built as its declared type, whatever the payload names.
        var typeId = CorrelationId.NewId();
        var payload = "{\"shape\":{\"$type\":\"" + typeof(Circle).AssemblyQualifiedName + "\",\"name\":\"n\",\"radius\":2}}";
        await raw.ProduceAsync(cluster.Settings.RequestTopic, null, Encoding.UTF8.GetBytes(payload), RawKafka.RequestHeaders(typeId, "reliability/TypeOf", rawReplies, 0));
        var typed = raw.Find(rawReplies, 1, r => r.Message.Headers.TryGetLastBytes("trpc-id", out var b) && CorrelationId.FromBytes(b) == typeId, TimeSpan.FromSeconds(20));
        Assert.NotNull(typed);
        var typedAs = Encoding.UTF8.GetString(typed!.Message.Value ?? []);
        Assert.Equal(RpcStatusCode.OK, RawKafka.Status(typed));
        Assert.Equal("\"" + typeof(Shape).FullName + ":n\"", typedAs);

        // Redis: every key and channel the run touched (commands seen by MONITOR) is in the namespace.
        var touched = monitor.Names();
        var ns = cluster.Settings.Namespace + ":";
        var outside = touched.Where(n => !n.StartsWith(ns, StringComparison.Ordinal)).Distinct().ToArray();
        Print("S1", $"exception details: not sent (Internal, generic detail); oversized reply: ResourceExhausted in {firstMs} ms, its idempotent retry too ({bothMs - firstMs} ms); "
            + $"oversized request record: {refused.StatusCode}, not run; oversized reply record: dead-lettered ({deadReason}); \"$type\" payload built as {typedAs}; "
            + $"Redis: {monitor.Commands} commands, {touched.Count} key/channel names, outside '{ns}': {outside.Length}" + (outside.Length > 0 ? " (" + string.Join(", ", outside.Take(5)) + ")" : ""));

        Assert.True(monitor.Commands > 0, "MONITOR saw no command.");
        Assert.Contains(touched, n => n.StartsWith(ns + "own:", StringComparison.Ordinal));
        Assert.Contains(touched, n => n.StartsWith(ns + "claim:", StringComparison.Ordinal));
        Assert.Contains(touched, n => n.StartsWith(ns + "wake:", StringComparison.Ordinal));
        Assert.Empty(outside);
    }

    /// <summary>redis-cli MONITOR on a server: the key and channel names of every command it sees.</summary>
    private sealed class RedisMonitor : IDisposable
    {
        private static readonly Regex s_argument = new("\"((?:\\\\.|[^\"\\\\])*)\"", RegexOptions.Compiled);
        private static readonly HashSet<string> s_keyless = new(StringComparer.OrdinalIgnoreCase)
        {
            "PING", "INFO", "CLIENT", "CONFIG", "CLUSTER", "ECHO", "SCRIPT", "SELECT", "AUTH", "HELLO", "COMMAND", "QUIT", "MONITOR", "ROLE", "SENTINEL", "READONLY", "TIME",
        };

        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();

        private RedisMonitor(Process process)
        {
            _process = process;
            _ = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync() is { } line)
                {
                    _lines.Enqueue(line);
                }
            });
        }

        public int Commands => _lines.Count(l => l != "OK");

        public static RedisMonitor Start(int port)
        {
            var info = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var argument in new[] { "-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "monitor" })
            {
                info.ArgumentList.Add(argument);
            }

            var monitor = new RedisMonitor(Process.Start(info) ?? throw new InvalidOperationException("redis-cli did not start."));
            // MONITOR answers OK once it is on; nothing before that would be seen.
            var until = DateTime.UtcNow.AddSeconds(10);
            while (!monitor._lines.Contains("OK") && DateTime.UtcNow < until)
            {
                System.Threading.Thread.Sleep(10);
            }

            return monitor;
        }

        /// <summary>Every key and channel name in the commands seen so far.</summary>
        public List<string> Names()
        {
            var names = new List<string>();
            foreach (var line in _lines)
            {
                var args = s_argument.Matches(line).Select(m => m.Groups[1].Value.Replace("\\\"", "\"", StringComparison.Ordinal)).ToArray();
                if (args.Length == 0 || s_keyless.Contains(args[0]))
                {
                    continue;
                }

                switch (args[0].ToUpperInvariant())
                {
                    case "EVALSHA" or "EVAL":
                        var count = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
                        names.AddRange(args.Skip(3).Take(count));
                        break;
                    case "SUBSCRIBE" or "UNSUBSCRIBE" or "PSUBSCRIBE" or "PUNSUBSCRIBE":
                        names.AddRange(args.Skip(1));
                        break;
                    default:
                        // GET/SET/PUBLISH/EXISTS/PEXPIRE/DEL/ZRANGE…: the key or channel comes first.
                        if (args.Length > 1)
                        {
                            names.Add(args[1]);
                        }

                        break;
                }
            }

            return names;
        }

        public void Dispose()
        {
            try
            {
                _process.Kill();
                _process.WaitForExit(5_000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            _process.Dispose();
        }
    }
}
