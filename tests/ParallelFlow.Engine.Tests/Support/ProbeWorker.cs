using System.Collections.Concurrent;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Support;

/// <summary>Records what the engine does, as it does it: how often each task ran, what had finished when it
/// started, and the most tasks running at once, overall and per worker type. Yields inside each task so that
/// tasks really overlap.</summary>
public sealed class Probe
{
    private int _running;
    private readonly ConcurrentDictionary<string, int> _runningByType = new();

    public ConcurrentDictionary<string, int> Executions { get; } = new();

    public ConcurrentDictionary<string, bool> Finished { get; } = new();

    public ConcurrentQueue<string> Violations { get; } = new();

    public ConcurrentDictionary<string, int> PeakByType { get; } = new();

    private int _peak;

    public int Peak => Volatile.Read(ref _peak);

    /// <summary>Tasks that are final without ever running (skipped); a soft dependent need not wait for them to run.</summary>
    public HashSet<string> NeverRuns { get; init; } = [];

    public ParallelFlowWorker WorkerFor(string type, Func<string, (IEnumerable<string> Hard, IEnumerable<string> Soft)> dependencies) =>
        new ProbeWorker(this, type, dependencies);

    private sealed class ProbeWorker(Probe probe, string type, Func<string, (IEnumerable<string> Hard, IEnumerable<string> Soft)> dependencies) : ParallelFlowWorker
    {
        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            var id = request.TaskId;
            probe.Executions.AddOrUpdate(id, 1, (_, n) => n + 1);
            var (hard, soft) = dependencies(id);
            foreach (var dependency in hard)
            {
                if (!probe.Finished.TryGetValue(dependency, out var succeeded) || !succeeded)
                {
                    probe.Violations.Enqueue($"{id} started before hard dependency {dependency} succeeded");
                }

                if (!request.DependencyOutputs.TryGetValue(dependency, out var output) || output.Text != $"out:{dependency}")
                {
                    probe.Violations.Enqueue($"{id} did not receive the output of {dependency}");
                }
            }

            foreach (var dependency in soft.Where(d => !probe.Finished.ContainsKey(d) && !probe.NeverRuns.Contains(d)))
            {
                probe.Violations.Enqueue($"{id} started before soft dependency {dependency} finished");
            }

            var running = Interlocked.Increment(ref probe._running);
            InterlockedMax(ref probe._peak, running);
            var byType = probe._runningByType.AddOrUpdate(type, 1, (_, n) => n + 1);
            probe.PeakByType.AddOrUpdate(type, byType, (_, n) => Math.Max(n, byType));
            try
            {
                await Task.Yield();
                await Task.Yield();
                var fails = request.With.GetProperty("fail").GetBoolean();
                probe.Finished[id] = !fails;
                return fails ? throw new FatalTaskException($"{id} fails by design") : TaskResult.FromText($"out:{id}");
            }
            finally
            {
                probe._runningByType.AddOrUpdate(type, 0, (_, n) => n - 1);
                Interlocked.Decrement(ref probe._running);
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            var current = Volatile.Read(ref target);
            while (value > current && Interlocked.CompareExchange(ref target, value, current) != current)
            {
                current = Volatile.Read(ref target);
            }
        }
    }
}
