using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Merging;

/// <summary>Registers the sectioning stage's mergers: <c>concat</c>, <c>lines</c>, <c>json</c>, <c>imports</c>, <c>files</c> and
/// <c>test-reports</c>. <c>lines</c> also combines the best answers of a <c>synthesis</c> vote.</summary>
public sealed class MergingPlugin : ParallelFlowPlugin
{
    /// <inheritdoc/>
    public override void Register(IPluginRegistrar registrar)
    {
        ArgumentNullException.ThrowIfNull(registrar);
        registrar.AddMerger("concat", new ConcatMerger());
        registrar.AddMerger("lines", new LinesMerger());
        registrar.AddMerger("json", new JsonMerger());
        registrar.AddMerger("imports", new ImportsMerger());
        registrar.AddMerger("files", new FilesMerger());
        registrar.AddMerger("test-reports", new TestReportsMerger());
    }
}
