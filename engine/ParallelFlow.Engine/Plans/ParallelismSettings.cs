namespace ParallelFlow.Engine.Plans;

/// <summary>How many tasks may run at once (<c>parallelism</c>), in the shape of parallel task executors' config.json.</summary>
/// <param name="MinWorkers">The least a run may be given with <c>--workers</c>.</param>
/// <param name="MaxWorkers">The most a run may be given with <c>--workers</c>.</param>
/// <param name="DefaultWorkers">The worker count when a run names none.</param>
public sealed record ParallelismSettings(int? MinWorkers = null, int? MaxWorkers = null, int? DefaultWorkers = null)
{
    /// <summary>The worker count a run uses when neither the run nor the plan names one: the machine's processor count.</summary>
    public static int MachineDefault => Environment.ProcessorCount;

    /// <summary>Whether the pool grows from the starting count towards <see cref="MaxWorkers"/> (64 when absent) while
    /// ready work waits and the machine has room, and sheds back towards <see cref="MinWorkers"/> when CPU use is over
    /// <c>resources.cpu_threshold</c> or available memory is low.</summary>
    public bool Adaptive { get; init; }

    /// <summary>The worker count a run uses: the requested count, else <see cref="DefaultWorkers"/>, else
    /// <see cref="MaxWorkers"/>, else <see cref="MachineDefault"/>.</summary>
    /// <param name="requested">The count the run asked for, if any.</param>
    /// <returns>The worker count.</returns>
    public int Resolve(int? requested) => requested ?? DefaultWorkers ?? MaxWorkers ?? MachineDefault;
}
