namespace ParallelFlow.Engine.Plans;

/// <summary>Resource limits (<c>resources</c>), in the shape of parallel task executors' config.json.</summary>
/// <param name="MaxMemoryMb">The most memory one task may use, in megabytes: each process a process task starts is held
/// to it (a cgroup v2 memory limit where one can be made, else an address-space limit, <c>RLIMIT_AS</c>) and fails with
/// <c>failure_kind: memory</c> when it goes over; other workers read it as <c>TaskRequest.MaxMemoryBytes</c>. None when
/// absent.</param>
/// <param name="CpuThreshold">The share of the machine's CPU above which the adaptive worker pool stops growing; accepted,
/// not yet acted on.</param>
public sealed record ResourceSettings(double? MaxMemoryMb = null, double? CpuThreshold = null)
{
    /// <summary>The memory limit in bytes, or null.</summary>
    public long? MaxMemoryBytes => MaxMemoryMb is { } mb ? (long)(mb * 1024 * 1024) : null;
}
