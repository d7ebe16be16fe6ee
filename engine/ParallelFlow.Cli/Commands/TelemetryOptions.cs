using System.CommandLine;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using ParallelFlow.OpenTelemetry;

namespace ParallelFlow.Cli.Commands;

/// <summary>Exporting a run's spans and metrics over OTLP: with <c>--otlp URL</c> (OTLP/HTTP, protobuf), or when the
/// standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>…_TRACES_ENDPOINT</c> / <c>…_METRICS_ENDPOINT</c>) variables are
/// set, which then also choose the protocol, headers and timeout as the OpenTelemetry specification says.</summary>
internal sealed class TelemetryOptions
{
    private readonly Option<string?> _otlp = new("--otlp")
    {
        Description = "Export the run's spans and metrics over OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318). Without it, export is on when OTEL_EXPORTER_OTLP_ENDPOINT is set.",
    };

    public TelemetryOptions()
    {
        // Checked with the command line, so that a bad URL stops the command before a run is journaled.
        _otlp.Validators.Add(result =>
        {
            var url = result.Tokens.Count == 0 ? string.Empty : result.Tokens[^1].Value;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            {
                result.AddError($"--otlp: '{url}' is not an http(s) URL (for example http://127.0.0.1:4318)");
            }
        });
    }

    public void AddTo(Command command) => command.Options.Add(_otlp);

    /// <summary>Starts exporting when asked to — spans when <c>--otlp</c>, <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or
    /// <c>…_TRACES_ENDPOINT</c> is given, metrics when <c>--otlp</c>, <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or
    /// <c>…_METRICS_ENDPOINT</c> is; disposing flushes what is left.</summary>
    public IDisposable Start(ParseResult parseResult, CliConsole console)
    {
        var endpoint = parseResult.GetValue(_otlp) is { } url ? new Uri(url) : null;
        var traces = endpoint is not null || IsSet("OTEL_EXPORTER_OTLP_ENDPOINT") || IsSet("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        var metrics = endpoint is not null || IsSet("OTEL_EXPORTER_OTLP_ENDPOINT") || IsSet("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        if (!traces && !metrics)
        {
            return new Exporters(null, null, null);
        }

        // The exporter reports a collector it cannot reach only on its event source: say so once, on stderr.
        var failures = new ExportFailures(console);

        var resource = ResourceBuilder.CreateDefault();
        if (!IsSet("OTEL_SERVICE_NAME"))
        {
            resource.AddService("parallelflow", serviceVersion: typeof(TelemetryOptions).Assembly.GetName().Version?.ToString(3));
        }

        var tracer = !traces ? null : global::OpenTelemetry.Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddParallelFlowInstrumentation()
            .AddOtlpExporter(options => Configure(options, endpoint, "v1/traces"))
            .Build();
        var meter = !metrics ? null : global::OpenTelemetry.Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddParallelFlowInstrumentation()
            .AddOtlpExporter((options, reader) =>
            {
                Configure(options, endpoint, "v1/metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 10_000;
            })
            .Build();
        return new Exporters(tracer, meter, failures);
    }

    private static bool IsSet(string variable) => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(variable));

    private static void Configure(OtlpExporterOptions options, Uri? endpoint, string path)
    {
        if (endpoint is null)
        {
            return;
        }

        options.Protocol = OtlpExportProtocol.HttpProtobuf;
        options.Endpoint = new Uri(endpoint, endpoint.AbsolutePath.TrimEnd('/') + "/" + path);
    }

    /// <summary>The providers; disposing them exports what is still buffered.</summary>
    private sealed class Exporters(TracerProvider? tracer, MeterProvider? meter, ExportFailures? failures) : IDisposable
    {
        public void Dispose()
        {
            tracer?.Dispose();
            meter?.Dispose();
            failures?.Dispose();
        }
    }

    /// <summary>Listens to the OTLP exporter's own event source and prints its first error or warning, so that a
    /// collector that is down or refuses the data does not go unnoticed.</summary>
    private sealed class ExportFailures(CliConsole console) : System.Diagnostics.Tracing.EventListener
    {
        private const string ExporterSource = "OpenTelemetry-Exporter-OpenTelemetryProtocol";
        private int _reported;

        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource eventSource)
        {
            if (eventSource.Name == ExporterSource)
            {
                EnableEvents(eventSource, System.Diagnostics.Tracing.EventLevel.Warning);
            }
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs eventData)
        {
            if (eventData.EventSource.Name != ExporterSource || eventData.Level > System.Diagnostics.Tracing.EventLevel.Warning
                || Interlocked.Exchange(ref _reported, 1) != 0)
            {
                return;
            }

            // An exception arrives as its whole text: its first line says what happened, the rest is a stack trace.
            object?[] args = [.. (eventData.Payload ?? []).Select(p => p is string text ? text.Split('\n')[0].Trim() : p)];
            var message = eventData.Message is { Length: > 0 } format
                ? SafeFormat(format, args)
                : $"{eventData.EventName}: {string.Join("; ", args.Where(a => a is not null))}";
            console.Error.WriteLine($"warning: OTLP export failed: {message} (the run is not affected; later failures are not repeated)");
        }

        private static string SafeFormat(string format, object?[] args)
        {
            try
            {
                return string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args).ReplaceLineEndings(" ");
            }
            catch (FormatException)
            {
                return format;
            }
        }
    }
}
