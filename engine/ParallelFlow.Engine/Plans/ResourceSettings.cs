namespace ParallelFlow.Engine.Plans;

/// <summary>Resource limits (<c>resources</c>), in the shape of parallel task executors' config.json.</summary>
/// <param name="MaxMemoryMb">The most memory one task may use, in megabytes: each process a process task starts is held
/// to it (an address-space limit, <c>RLIMIT_AS</c>, set with <c>prlimit</c>) and fails with <c>failure_kind: memory</c>
/// when it goes over; other workers read it as <c>TaskRequest.MaxMemoryBytes</c>; and the engine holds back new tasks
/// while its own memory has grown by more than this since the run started. None when absent.</param>
/// <param name="CpuThreshold">The share of the machine's CPU above which an adaptive pool stops growing and sheds back to
/// the cores (0.8 when absent).</param>
public sealed record ResourceSettings(double? MaxMemoryMb = null, double? CpuThreshold = null)
{
    /// <summary>The memory limit in bytes, or null.</summary>
    public long? MaxMemoryBytes => MaxMemoryMb is { } mb ? (long)(mb * 1024 * 1024) : null;
}
