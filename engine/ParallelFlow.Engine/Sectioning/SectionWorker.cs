using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Tasks.Dataflow;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Sectioning;

/// <summary>
/// The built-in <c>section</c> worker: a decomposer produces sections, each flows through one bounded
/// <see cref="TransformBlock{TInput, TOutput}"/> with its own parallelism, the merger consumes them in order as they
/// come, and an optional validation task checks the merged output. At most <c>capacity</c> sections are in flight —
/// taken from the decomposer and not yet done with by the merger, the one being merged included — so a fast
/// decomposer waits for a slow merger. Failed sections are recorded, never lost.
/// </summary>
internal sealed class SectionWorker(WorkerCatalog catalog, TimeProvider timeProvider) : ParallelFlowWorker
{
    public const string Name = "section";
    private const int FailuresKept = 100;

    // What the decision record keeps of each section, so that a section task of 100,000 sections still streams: the
    // first 10,000 sections listed, each output cut to a preview; the merged output cut likewise (the task's output has it whole).
    private const int SectionsListed = 10_000;
    private const int OutputPreview = 2_000;
    private const int MergedPreview = 20_000;

    public override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters)
    {
        var problems = new List<ParameterProblem>();
        SectionSpec.Parse(parameters, catalog, problems);
        return problems;
    }

    /// <summary>Reads the section task once, when the plan is compiled, with the merger's own parameters bound too;
    /// every attempt runs with it.</summary>
    public override object? BindParameters(JsonElement parameters) => Bind(parameters, throwOnProblems: false);

    private BoundSections? Bind(JsonElement with, bool throwOnProblems)
    {
        var problems = new List<ParameterProblem>();
        var spec = SectionSpec.Parse(with, catalog, problems);
        if (spec is null || problems.Count > 0 || !catalog.TryGetMerger(spec.Merger, out var merger) || !catalog.TryGetWorker(spec.Worker, out var worker))
        {
            return throwOnProblems ? throw new FatalTaskException(string.Join("; ", problems.Select(p => p.Message))) : null;
        }

        return new BoundSections(spec, worker, merger, merger.BindParameters(spec.Merging));
    }

    /// <summary>A section task as read: its spec, its worker, its merger and the merger's bound parameters.</summary>
    private sealed record BoundSections(SectionSpec Spec, ParallelFlowWorker Worker, ParallelFlowMerger Merger, object? MergerParameters);

    public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (spec, worker, merger, mergerParameters) = request.Parameters as BoundSections ?? Bind(request.With, throwOnProblems: true)!;

        var started = timeProvider.GetTimestamp();
        var stats = new SectionStats();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var slots = new SemaphoreSlim(spec.Capacity, spec.Capacity);
        var block = new TransformBlock<Section, SectionOutcome>(
            section => RunSectionAsync(request, spec, worker, section, stop.Token),
            new ExecutionDataflowBlockOptions
            {
                BoundedCapacity = spec.Capacity,
                MaxDegreeOfParallelism = spec.Parallelism,
                EnsureOrdered = true,
                SingleProducerConstrained = true,
            });
        Exception? decomposerError = null;
        var producer = Task.Run(
            async () =>
            {
                try
                {
                    var sections = spec.StaticSections is { } list
                        ? Decomposer.FromList(list).ToAsyncEnumerable()
                        : spec.Decomposer!.ProduceAsync(request, catalog, stop.Token);
                    await foreach (var section in sections.WithCancellation(stop.Token).ConfigureAwait(false))
                    {
                        // A slot is held from here until the merger has taken the section's output.
                        await slots.WaitAsync(stop.Token).ConfigureAwait(false);
                        stats.Accepted();
                        if (!await block.SendAsync(section, stop.Token).ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
#pragma warning disable CA1031 // Reported as the task's failure once the sections produced so far are merged.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    decomposerError = ex;
                }
                finally
                {
                    block.Complete();
                }
            },
            CancellationToken.None);

        MergeResult merged;
        try
        {
            var mergeRequest = new MergeRequest { TaskId = request.TaskId, With = spec.Merging, Parameters = mergerParameters, Sections = [], Services = new CatalogTaskServices(catalog, request) };
            merged = await merger.MergeStreamAsync(mergeRequest, Consume(block, slots, stats, stop.Token), stop.Token).ConfigureAwait(false)
                ?? throw new FatalTaskException($"merger '{spec.Merger}' returned nothing");
        }
        finally
        {
            // A merger that stops early or throws must not leave the decomposer waiting on a full block.
            await stop.CancelAsync().ConfigureAwait(false);
            await producer.ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (decomposerError is not null)
        {
            throw new FatalTaskException($"the decomposer failed after {stats.Total} section(s): {Describe(decomposerError)}", decomposerError);
        }

        if (stats.Failed > 0 && !spec.AllowFailures)
        {
            throw new FatalTaskException(
                $"{stats.Failed} of {stats.Total} sections failed: {string.Join("; ", stats.Failures.Take(10).Select(f => $"{f.Name}: {f.Error}"))}{(stats.Failed > 10 ? "; …" : string.Empty)}");
        }

        var validation = spec.ValidateWorker is null ? null : await ValidateAsync(request, spec, merged.Output, cancellationToken).ConfigureAwait(false);
        var wall = timeProvider.GetElapsedTime(started);
        request.Progress.Report(string.Create(CultureInfo.InvariantCulture,
            $"{stats.Succeeded} of {stats.Total} sections merged by {spec.Merger}; at most {stats.Peak} in flight (capacity {spec.Capacity}); {merged.Conflicts.Count(c => !c.Resolved)} conflict(s) for review"));
        return new TaskResult
        {
            Text = merged.Output.Text,
            Json = merged.Output.Json,
            Artifacts = merged.Output.Artifacts,
            Usage = stats.Usage,
            Record = Record(spec, stats, merged, validation, wall),
        };
    }

    /// <summary>Copies <paramref name="parameters"/> with <c>{{section}}</c>, <c>{{section_name}}</c> and <c>{{section_index}}</c> filled in every string.</summary>
    internal static JsonElement Fill(JsonElement parameters, Section section)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            JsonCopy.Write(parameters, writer, sortKeys: false, text => text
                .Replace("{{section}}", section.Value, StringComparison.Ordinal)
                .Replace("{{section_name}}", section.Name, StringComparison.Ordinal)
                .Replace("{{section_index}}", section.Index.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static async IAsyncEnumerable<SectionOutput> Consume(TransformBlock<Section, SectionOutcome> block, SemaphoreSlim slots, SectionStats stats, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var outcome in block.ReceiveAllAsync(cancellationToken).ConfigureAwait(false))
        {
            stats.Received(outcome);
            if (outcome.Result is { } result)
            {
                yield return new SectionOutput(outcome.Name, result);
            }

            // The merger asked for the next section, so it is done with this one: its slot is free.
            stats.Released();
            slots.Release();
        }
    }

    /// <summary>One section, in a span of its own under the section task's attempt when someone traces.</summary>
    private Task<SectionOutcome> RunSectionAsync(TaskRequest parent, SectionSpec spec, ParallelFlowWorker worker, Section section, CancellationToken cancellationToken) =>
        Diagnostics.EngineTelemetry.IsTracing
            ? RunTracedSectionAsync(parent, spec, worker, section, cancellationToken)
            : RunSectionCoreAsync(parent, spec, worker, section, cancellationToken);

    private async Task<SectionOutcome> RunTracedSectionAsync(TaskRequest parent, SectionSpec spec, ParallelFlowWorker worker, Section section, CancellationToken cancellationToken)
    {
        var span = Diagnostics.EngineTelemetry.StartAttempt($"{parent.TaskId}/{section.Name}", spec.Worker, worker.ModelOperation, parent.Attempt, spec.With);
        var outcome = await RunSectionCoreAsync(parent, spec, worker, section, cancellationToken).ConfigureAwait(false);
        Diagnostics.EngineTelemetry.EndAttempt(span, outcome.Result, outcome.Result is not null ? null : outcome.TimedOut ? "timeout" : "failed", catalog.Secrets.RedactOrNull(outcome.Error));
        return outcome;
    }

    private async Task<SectionOutcome> RunSectionCoreAsync(TaskRequest parent, SectionSpec spec, ParallelFlowWorker worker, Section section, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        using var timeout = spec.SectionTimeoutSeconds is { } s ? new CancellationTokenSource(TimeSpan.FromSeconds(s), timeProvider) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var request = new TaskRequest
            {
                TaskId = $"{parent.TaskId}/{section.Name}",
                WorkerName = spec.Worker,
                Description = parent.Description,
                With = Fill(spec.With, section),
                DependencyOutputs = parent.DependencyOutputs,
                Attempt = parent.Attempt,
                Logger = parent.Logger,
                Progress = parent.Progress,
                CancellationToken = linked.Token,
            };
            var result = await CancellationGrace.AwaitAsync<TaskResult, int>(worker.ExecuteAsync(request, linked.Token).AsTask(), catalog.CancellationGracePeriod, timeProvider, null, 0, linked.Token).ConfigureAwait(false);
            return new SectionOutcome(section.Name, result ?? TaskResult.Empty, null, timeProvider.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new SectionOutcome(section.Name, null, $"timed out after {spec.SectionTimeoutSeconds!.Value.ToString("0.###", CultureInfo.InvariantCulture)}s", timeProvider.GetElapsedTime(started), TimedOut: true);
        }
#pragma warning disable CA1031 // A failing section is recorded; it never faults the block.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return new SectionOutcome(section.Name, null, Describe(ex), timeProvider.GetElapsedTime(started));
        }
    }

    private async Task<string> ValidateAsync(TaskRequest request, SectionSpec spec, TaskResult merged, CancellationToken cancellationToken)
    {
        catalog.TryGetWorker(spec.ValidateWorker!, out var validator);
        try
        {
            var result = await validator!.ExecuteAsync(
                new TaskRequest
                {
                    TaskId = $"{request.TaskId}/validate",
                    WorkerName = spec.ValidateWorker!,
                    Description = $"validate the merged output of {request.TaskId}",
                    With = spec.ValidateWith,
                    DependencyOutputs = new Dictionary<string, TaskResult>(request.DependencyOutputs) { ["merged"] = merged },
                    Logger = request.Logger,
                    Progress = request.Progress,
                    CancellationToken = cancellationToken,
                },
                cancellationToken).ConfigureAwait(false);
            return result.ToString();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new FatalTaskException($"validation by '{spec.ValidateWorker}' failed: {Describe(ex)}", ex);
        }
    }

    private static string Describe(Exception ex) =>
        ex is TransientTaskException or FatalTaskException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";

    private static JsonElement Record(SectionSpec spec, SectionStats stats, MergeResult merged, string? validation, TimeSpan wall)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("kind", "section");
            writer.WriteString("worker", spec.Worker);
            writer.WriteString("merger", spec.Merger);
            writer.WriteNumber("sections", stats.Total);
            writer.WriteNumber("succeeded", stats.Succeeded);
            writer.WriteNumber("failed", stats.Failed);
            writer.WriteNumber("parallelism", spec.Parallelism);
            writer.WriteNumber("capacity", spec.Capacity);
            writer.WriteNumber("peak_in_flight", stats.Peak);
            writer.WriteNumber("sequential_seconds", Math.Round(stats.SectionTime.TotalSeconds, 6));
            writer.WriteNumber("wall_seconds", Math.Round(wall.TotalSeconds, 6));
            writer.WriteNumber("speedup", wall > TimeSpan.Zero ? Math.Round(stats.SectionTime / wall, 3) : 0);
            if (stats.Failures.Count > 0)
            {
                writer.WriteStartArray("failures");
                foreach (var (name, error) in stats.Failures)
                {
                    writer.WriteStartObject();
                    writer.WriteString("name", name);
                    writer.WriteString("error", error);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteStartArray("completed_sections");
            foreach (var section in stats.Sections)
            {
                writer.WriteStartObject();
                writer.WriteString("name", section.Name);
                writer.WriteString("status", section.Status);
                writer.WriteNumber("attempts", 1);
                writer.WriteNumber("duration_seconds", section.Seconds);
                if (section.Path is not null)
                {
                    writer.WriteString("path", section.Path);
                }

                if (section.Output is not null)
                {
                    writer.WriteString("output", section.Output);
                }

                if (section.Error is not null)
                {
                    writer.WriteString("error", section.Error);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            if (stats.Total > stats.Sections.Count)
            {
                writer.WriteNumber("completed_sections_omitted", stats.Total - stats.Sections.Count);
            }

            var mergedText = merged.Output.ToString();
            writer.WriteString("merged_output", mergedText.Length <= MergedPreview ? mergedText : $"{mergedText[..MergedPreview]}… ({mergedText.Length - MergedPreview} more characters; the task's output has it whole)");
            writer.WriteNumber("conflicts_resolved", merged.Conflicts.Count(c => c.Resolved));
            writer.WriteStartArray("conflicts");
            foreach (var conflict in merged.Conflicts)
            {
                writer.WriteStartObject();
                writer.WriteString("location", conflict.Location);
                writer.WriteString("description", conflict.Description);
                writer.WriteBoolean("resolved", conflict.Resolved);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("manual_review_required");
            foreach (var conflict in merged.Conflicts.Where(c => !c.Resolved))
            {
                writer.WriteStringValue($"{conflict.Location}: {conflict.Description}");
            }

            writer.WriteEndArray();
            if (validation is not null)
            {
                writer.WriteStartObject("validation");
                writer.WriteString("worker", spec.ValidateWorker);
                writer.WriteString("status", "passed");
                writer.WriteString("output", validation);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private sealed record SectionOutcome(string Name, TaskResult? Result, string? Error, TimeSpan Duration, bool TimedOut = false);

    /// <summary>One section as the decision record lists it (<c>completed_sections</c>): its output cut to a preview, or
    /// the path it wrote.</summary>
    private sealed record SectionEntry(string Name, string Status, double Seconds, string? Output, string? Path, string? Error);

    /// <summary>Counts kept while sections stream; only failures are remembered by name (the first 100).</summary>
    private sealed class SectionStats
    {
        private int _inFlight;
        private int _peak;

        public int Total { get; private set; }

        public int Succeeded { get; private set; }

        public int Failed { get; private set; }

        public int Peak => Volatile.Read(ref _peak);

        public TimeSpan SectionTime { get; private set; }

        public TaskUsage Usage { get; private set; }

        public List<(string Name, string Error)> Failures { get; } = [];

        /// <summary>Every section in the order the merger got it, up to <see cref="SectionsListed"/>.</summary>
        public List<SectionEntry> Sections { get; } = [];

        /// <summary>A section took a slot: it is in flight until the merger is done with it.</summary>
        public void Accepted()
        {
            var now = Interlocked.Increment(ref _inFlight);
            var peak = Volatile.Read(ref _peak);
            while (now > peak && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
            {
                peak = Volatile.Read(ref _peak);
            }
        }

        public void Released() => Interlocked.Decrement(ref _inFlight);

        public void Received(SectionOutcome outcome)
        {
            Total++;
            SectionTime += outcome.Duration;
            if (Sections.Count < SectionsListed)
            {
                var text = outcome.Result?.ToString();
                Sections.Add(new SectionEntry(
                    outcome.Name,
                    outcome.Result is not null ? "succeeded" : outcome.TimedOut ? "timed_out" : "failed",
                    Math.Round(outcome.Duration.TotalSeconds, 6),
                    text is null ? null : text.Length <= OutputPreview ? text : $"{text[..OutputPreview]}… ({text.Length - OutputPreview} more characters)",
                    outcome.Result?.Artifacts.Count > 0 ? outcome.Result.Artifacts[0].Path : null,
                    outcome.Error));
            }

            if (outcome.Result is { } result)
            {
                Succeeded++;
                Usage = new TaskUsage(Usage.InputTokens + result.Usage.InputTokens, Usage.OutputTokens + result.Usage.OutputTokens, Usage.Cost + result.Usage.Cost);
                return;
            }

            Failed++;
            if (Failures.Count < FailuresKept)
            {
                Failures.Add((outcome.Name, outcome.Error ?? "failed"));
            }
        }
    }
}
