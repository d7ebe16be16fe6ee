using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Cli.Output;

/// <summary>Shows a run's events while it goes.</summary>
internal interface IRunView
{
    Task ShowAsync(IAsyncEnumerable<RunEvent> events);
}
