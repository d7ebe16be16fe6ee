using Microsoft.Extensions.Logging;

namespace ParallelFlow.Engine.Diagnostics;

/// <summary>Loggers that mask secret values (see <see cref="SecretRedactor"/>) in what they write. While no secret is
/// set they pass every call through unchanged; once one is, a message is formatted, masked and written as text, with
/// its exception's text masked into it.</summary>
internal sealed class RedactingLoggerFactory(ILoggerFactory inner, SecretRedactor secrets) : ILoggerFactory
{
    public static ILoggerFactory Wrap(ILoggerFactory inner, SecretRedactor secrets) =>
        inner is RedactingLoggerFactory || inner is Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory ? inner : new RedactingLoggerFactory(inner, secrets);

    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName), secrets);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The host owns the factory it passed in.
    }

    private sealed class RedactingLogger(ILogger inner, SecretRedactor secrets) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (secrets.IsEmpty)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }

            var message = secrets.Redact(formatter(state, exception));
            if (exception is not null)
            {
                message = $"{message}{Environment.NewLine}{secrets.Redact(exception.ToString())}";
            }

            inner.Log(logLevel, eventId, message, null, static (text, _) => text);
        }
    }
}
