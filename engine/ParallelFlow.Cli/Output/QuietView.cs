using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Cli.Output;

/// <summary>Shows nothing while the run goes (<c>--quiet</c>).</summary>
internal sealed class QuietView : IRunView
{
    public async Task ShowAsync(IAsyncEnumerable<RunEvent> events)
    {
        await foreach (var _ in events.ConfigureAwait(false))
        {
        }
    }
}
