using Microsoft.Extensions.Logging;

namespace ParallelFlow.Cli.Output;

/// <summary><c>--verbose</c>: the engine's and the workers' log lines (a plugin's <c>request.Logger</c>) on stderr, one
/// line each, so stdout keeps the command's own output.</summary>
internal sealed class VerboseLog(TextWriter error) : ILoggerFactory
{
    private readonly Lock _write = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        var name = category.StartsWith("ParallelFlow.", StringComparison.Ordinal) ? category["ParallelFlow.".Length..] : category;
        lock (_write)
        {
            error.WriteLine($"{Level(level)} {name}: {message}{(exception is null ? string.Empty : $" ({exception.GetType().Name}: {exception.Message})")}");
        }
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info ",
        LogLevel.Warning => "warn ",
        LogLevel.Error => "error",
        _ => "crit ",
    };

    private sealed class Logger(VerboseLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Write(logLevel, category, formatter(state, exception), exception);
            }
        }
    }
}
