using System;
using System.IO;
using Microsoft.Extensions.Logging;

namespace TypedRpc.IntegrationTests.Reliability;

/// <summary>
/// With TYPEDRPC_TEST_LOG_DIR set, every instance of a reliability deployment writes its logs
/// (Debug and up, librdkafka's own lines included) to a file of its own there — for diagnosing a
/// fault test, not for checking anything.
/// </summary>
internal sealed class FileLoggerFactory(string path) : ILoggerFactory
{
    public const string Variable = "TYPEDRPC_TEST_LOG_DIR";

    private readonly StreamWriter _writer = new(path, append: true) { AutoFlush = true };

    public static FileLoggerFactory? For(string instanceId) =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } dir
            ? new FileLoggerFactory(Path.Combine(Directory.CreateDirectory(dir).FullName, instanceId + ".log"))
            : null;

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose() => _writer.Dispose();

    private void Write(string line)
    {
        lock (_writer)
        {
            _writer.WriteLine(line);
        }
    }

    private sealed class FileLogger(FileLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            factory.Write($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category}: {formatter(state, exception)}{(exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)}");
    }
}
