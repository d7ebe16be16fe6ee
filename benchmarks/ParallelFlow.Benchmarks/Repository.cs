namespace ParallelFlow.Benchmarks;

/// <summary>The repository the benchmarks run from: the first folder above their binaries that holds ParallelFlow.sln.</summary>
internal static class Repository
{
    public static string Root
    {
        get
        {
            var folder = AppContext.BaseDirectory;
            while (!File.Exists(Path.Combine(folder, "ParallelFlow.sln")))
            {
                folder = Path.GetDirectoryName(folder)
                    ?? throw new InvalidOperationException($"the benchmarks run from the repository: no ParallelFlow.sln is above {AppContext.BaseDirectory}");
            }

            return folder;
        }
    }
}
