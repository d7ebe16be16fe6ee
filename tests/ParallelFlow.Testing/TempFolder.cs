namespace ParallelFlow.Testing;

/// <summary>A folder of its own under the system's temp folder, for one test's plans, journals and reports: deleted
/// with what is in it when disposed (<c>using var scratch = new TempFolder("parallelflow-x-");</c>), so that a suite
/// run many times on one machine does not fill its temp folder.</summary>
public sealed class TempFolder(string prefix) : IDisposable
{
    /// <summary>The folder's full path.</summary>
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A process the test started may still be closing a file in it: the folder is left, and the test's outcome
            // stands.
        }
    }
}
