using System.Globalization;
using System.Text;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Merging;

/// <summary>
/// The <c>concat</c> merger: section outputs in section order, joined by <c>separator</c> (a new line by default),
/// each optionally under a <c>header</c> (<c>{name}</c> is the section's name). With <c>output_file</c> the text is
/// streamed to that file as sections arrive, so memory stays flat however many sections there are.
/// </summary>
public sealed class ConcatMerger : ParallelFlowMerger<MergeSettings>
{
    /// <inheritdoc/>
    protected override MergeSettings Bind(ParameterReader reader) => new()
    {
        Separator = reader.Text("separator"),
        Header = reader.Text("header"),
        OutputFile = reader.Text("output_file"),
    };

    /// <inheritdoc/>
    protected override async ValueTask<MergeResult> MergeAsync(MergeRequest request, MergeSettings parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await MergeStreamAsync(request, parameters, request.Sections.ToAsyncEnumerable(), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    protected override async ValueTask<MergeResult> MergeStreamAsync(MergeRequest request, MergeSettings parameters, IAsyncEnumerable<SectionOutput> sections, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(sections);
        var separator = parameters.Separator ?? "\n";
        var header = parameters.Header;
        var file = parameters.OutputFile;
        var count = 0;
        var text = new StringBuilder();
        var writer = file is null ? null : new StreamWriter(file, append: false, new UTF8Encoding(false));
        try
        {
            await foreach (var section in sections.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var part = new StringBuilder();
                if (count > 0)
                {
                    part.Append(separator);
                }

                if (header is not null)
                {
                    part.Append(header.Replace("{name}", section.Name, StringComparison.Ordinal)).Append('\n');
                }

                part.Append(section.Result.ToString());
                count++;
                if (writer is null)
                {
                    text.Append(part);
                }
                else
                {
                    await writer.WriteAsync(part, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            if (writer is not null)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }
        }

        var output = file is null
            ? TaskResult.FromText(text.ToString())
            : new TaskResult { Text = string.Create(CultureInfo.InvariantCulture, $"{count} sections written to {file}"), Artifacts = [new TaskArtifact(Path.GetFileName(file), file, "text/plain")] };
        return new MergeResult(output, []);
    }
}
