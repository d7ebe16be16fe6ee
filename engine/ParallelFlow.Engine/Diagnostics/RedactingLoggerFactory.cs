using Microsoft.Extensions.Logging;

namespace ParallelFlow.Engine.Diagnostics;

/// <summary>Loggers that mask secret values (see <see cref="SecretRedactor"/>) in what they write. While no secret is
/// set they pass every call through unchanged; once one is, the message is formatted and masked, its structured values
/// are masked, and its exception's text is masked into the message (an exception object could carry the value in
/// fields no mask reaches).</summary>
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
            if (secrets.IsEmpty || !inner.IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }

            // The message is formatted and masked; structured values stay, masked, for providers that keep them.
            var message = secrets.Redact(formatter(state, exception));
            if (exception is not null)
            {
                message = $"{message}{Environment.NewLine}{secrets.Redact(exception.ToString())}";
            }

            var values = state is IReadOnlyList<KeyValuePair<string, object?>> properties
                ? properties.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value is string text ? secrets.Redact(text) : p.Value is null or ValueType ? p.Value : secrets.Redact(p.Value.ToString() ?? string.Empty))).ToList()
                : [];
            inner.Log(logLevel, eventId, new MaskedState(message, values), null, static (masked, _) => masked.Message);
        }
    }

    /// <summary>A log entry's masked message and values.</summary>
    private sealed class MaskedState(string message, List<KeyValuePair<string, object?>> values) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Message { get; } = message;

        public int Count => values.Count;

        public KeyValuePair<string, object?> this[int index] => values[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => values.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => Message;
    }
}
