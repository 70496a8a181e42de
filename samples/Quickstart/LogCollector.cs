using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using Microsoft.Extensions.Logging;

namespace Quickstart;

/// <summary>
/// Keeps the warnings and errors of every instance for the summary instead of writing them over
/// the live display.
/// </summary>
public sealed class LogCollector
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    /// <summary>The entries, oldest first.</summary>
    public LogEntry[] Entries => _entries.ToArray();

    /// <summary>A provider for one instance's host.</summary>
    public ILoggerProvider For(string instance) => new Provider(this, instance);

    private sealed class Provider(LogCollector owner, string instance) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(owner, instance, categoryName);

        // The collector outlives every host.
        public void Dispose()
        {
        }
    }

    private sealed class Logger(LogCollector owner, string instance, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var shortCategory = category[(category.LastIndexOf('.') + 1)..];
            owner._entries.Enqueue(new LogEntry(instance, logLevel, shortCategory, formatter(state, exception), CorrelationIdOf(state), exception));
        }

        // The engine's messages are structured: the call they are about is their CorrelationId value.
        private static string? CorrelationIdOf<TState>(TState state)
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var pair in values)
                {
                    if (pair.Key == "CorrelationId")
                    {
                        return pair.Value?.ToString();
                    }
                }
            }

            return null;
        }
    }
}
