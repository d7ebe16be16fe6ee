using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Plugins;

/// <summary>
/// Loads the plugins listed in a plugins.json into a <see cref="WorkerCatalog"/>. Each plugin loads in isolation
/// (<see cref="IPluginAssemblyLoader"/>) with the SDK's types shared. A bad plugin — a missing file, an assembly that is
/// not a plugin, one built against another SDK major version, one that throws while registering, a name another
/// plugin already took — is reported with its name and left out; it never stops the others or the host.
/// </summary>
/// <remarks>A plugin's registrations take effect together or not at all: nothing a plugin registered before failing
/// is used.</remarks>
public static class PluginHost
{
    private const string SdkAssemblyName = "ParallelFlow.Sdk";

    /// <summary>Why loading plugins needs the runtime's full reflection and code loading: a trimmed or natively compiled
    /// host cannot load them (register its plugins with <see cref="Register"/> instead).</summary>
    internal const string LoadsAssemblies = "Plugins are assemblies found at run time: their types are read and made by reflection, which trimming and native AOT do not keep. Register plugins compiled into the host with PluginHost.Register instead.";

    /// <summary>The feature switch that <see cref="IsLoadingSupported"/> reads.</summary>
    internal const string LoadingSwitch = "ParallelFlow.Plugins.IsLoadingSupported";

    private static readonly Type[] SharedTypes = [typeof(ParallelFlowPlugin), typeof(ILogger), typeof(ILoggerFactory)];

    /// <summary>
    /// Whether this process can load plugin assemblies (<see cref="LoadInto"/>): true, unless the program is trimmed or
    /// compiled to native code. A project that sets <c>PublishTrimmed</c> or <c>PublishAot</c> and uses the engine's
    /// package gets the feature switch <c>ParallelFlow.Plugins.IsLoadingSupported</c> set to false (unless it sets
    /// <c>ParallelFlowKeepsPluginLoading</c>), and the trimmer leaves plugin loading out; natively compiled, this is
    /// false whatever the switch. A host asks before it loads a plugin list, so that such a program says why it cannot,
    /// and registers the plugins compiled into it with <see cref="Register"/>.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.FeatureSwitchDefinition(LoadingSwitch)]
    [System.Diagnostics.CodeAnalysis.FeatureGuard(typeof(System.Diagnostics.CodeAnalysis.RequiresUnreferencedCodeAttribute))]
    [System.Diagnostics.CodeAnalysis.FeatureGuard(typeof(System.Diagnostics.CodeAnalysis.RequiresDynamicCodeAttribute))]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL4000", Justification =
        "A feature switch: the package's build/ParallelFlow.Engine.targets sets it to false in a project that is trimmed, and the trimmer then takes the property for false and leaves out what it guards. A trimmed project that references the engine's project instead of its package imports that file itself.")]
    public static bool IsLoadingSupported =>
        System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported && (!AppContext.TryGetSwitch(LoadingSwitch, out var supported) || supported);

    /// <summary>Loads every enabled plugin of a plugin list into a catalog.</summary>
    /// <param name="catalog">Where the plugins' workers, scorers and mergers go.</param>
    /// <param name="manifestPath">The plugin list (plugins.json); plugin paths are relative to it.</param>
    /// <param name="loggerFactory">Handed to the plugins.</param>
    /// <param name="loader">How assemblies are loaded; <see cref="IsolatedPluginAssemblyLoader"/> when absent.</param>
    /// <returns>What loaded and what did not, and why.</returns>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(LoadsAssemblies)]
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(LoadsAssemblies)]
    public static PluginLoadReport LoadInto(WorkerCatalog catalog, string manifestPath, ILoggerFactory? loggerFactory = null, IPluginAssemblyLoader? loader = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var (entries, errors) = PluginManifest.Read(manifestPath);
        loader ??= new IsolatedPluginAssemblyLoader();
        var owners = new Dictionary<(string Kind, string Name), string>();
        foreach (var name in catalog.WorkerNames)
        {
            owners[("worker", name)] = "the built-in workers";
        }

        var loaded = new List<LoadedPlugin>();
        foreach (var entry in entries.Where(e => e.Enabled))
        {
            var plugin = Load(entry, catalog, owners, loader, loggerFactory ?? NullLoggerFactory.Instance, manifestPath, out var error);
            if (plugin is not null)
            {
                loaded.Add(plugin);
            }
            else if (error is not null)
            {
                errors.Add(error);
            }
        }

        return new PluginLoadReport(loaded, errors);
    }

    /// <summary>
    /// Registers an in-process plugin instance into a catalog, as <see cref="LoadInto"/> does for a plugin assembly:
    /// all or nothing, so a plugin that throws, or registers a name the catalog already has, adds nothing.
    /// </summary>
    /// <param name="catalog">The catalog to add to.</param>
    /// <param name="plugin">The plugin.</param>
    /// <param name="settings">The plugin's settings, as plugins.json would give them.</param>
    /// <param name="loggerFactory">Loggers for the plugin; none by default.</param>
    /// <exception cref="InvalidOperationException">A name is taken already; nothing was added.</exception>
    public static void Register(WorkerCatalog catalog, ParallelFlowPlugin plugin, JsonElement settings = default, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(plugin);
        var registrar = new PendingRegistrar(settings, Diagnostics.RedactingLoggerFactory.Wrap(loggerFactory ?? NullLoggerFactory.Instance, catalog.Secrets));
        plugin.Register(registrar);
        var taken = registrar.Names.Where(n => n.Kind switch
        {
            "worker" => catalog.TryGetWorker(n.Name, out _),
            "scorer" => catalog.TryGetScorer(n.Name, out _),
            "strategy" => catalog.TryGetStrategy(n.Name, out _),
            _ => catalog.TryGetMerger(n.Name, out _),
        }).ToList();
        if (taken.Count > 0)
        {
            throw new InvalidOperationException($"{plugin.GetType().Name} registers {string.Join(", ", taken.Select(t => $"the {t.Kind} '{t.Name}'"))}, already in the catalog; nothing was added");
        }

        registrar.CommitTo(catalog);
    }

    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(LoadsAssemblies)]
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(LoadsAssemblies)]
    private static LoadedPlugin? Load(PluginEntry entry, WorkerCatalog catalog, Dictionary<(string, string), string> owners,
        IPluginAssemblyLoader loader, ILoggerFactory loggerFactory, string manifestPath, out PlanError? error)
    {
        PlanError Fail(string code, string message) => new(code, $"plugin '{entry.Name}': {message}", manifestPath, entry.Position, null);

        error = null;
        if (!File.Exists(entry.AssemblyPath))
        {
            error = Fail(PluginErrors.LoadCode, $"assembly not found at {entry.AssemblyPath}; build it first (dotnet build)");
            return null;
        }

        var sdkVersion = ReferencedSdkVersion(entry.AssemblyPath, out var notAssembly);
        if (notAssembly is not null)
        {
            error = Fail(PluginErrors.LoadCode, notAssembly);
            return null;
        }

        if (sdkVersion is null)
        {
            error = Fail(PluginErrors.LoadCode, $"{Path.GetFileName(entry.AssemblyPath)} is not a ParallelFlow plugin: it does not reference {SdkAssemblyName}");
            return null;
        }

        if (sdkVersion.Major != SdkInfo.MajorVersion)
        {
            error = Fail(PluginErrors.SdkVersionCode,
                $"built against {SdkAssemblyName} {sdkVersion.Major}.x, but this host runs SDK {SdkInfo.MajorVersion}.x; rebuild the plugin against SDK {SdkInfo.MajorVersion}");
            return null;
        }

        var registrar = new PendingRegistrar(entry.Settings, Diagnostics.RedactingLoggerFactory.Wrap(loggerFactory, catalog.Secrets));
        Assembly assembly;
        try
        {
            assembly = loader.Load(entry.AssemblyPath, SharedTypes);
            var pluginTypes = assembly.GetExportedTypes()
                .Where(t => t is { IsAbstract: false, IsClass: true } && typeof(ParallelFlowPlugin).IsAssignableFrom(t))
                .ToList();
            if (pluginTypes.Count == 0)
            {
                error = Fail(PluginErrors.LoadCode, $"{Path.GetFileName(entry.AssemblyPath)} holds no public class deriving from ParallelFlowPlugin");
                return null;
            }

            foreach (var type in pluginTypes)
            {
                ((ParallelFlowPlugin)Activator.CreateInstance(type)!).Register(registrar);
            }
        }
#pragma warning disable CA1031 // Whatever a plugin throws while loading is reported against that plugin, never thrown at the host.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var cause = ex is TargetInvocationException { InnerException: { } inner } ? inner : ex;
            error = Fail(PluginErrors.RegistrationCode, $"failed while loading or registering: {cause.GetType().Name}: {cause.Message}");
            return null;
        }

        foreach (var (kind, name) in registrar.Names)
        {
            if (owners.TryGetValue((kind, name), out var owner))
            {
                error = Fail(PluginErrors.DuplicateNameCode, $"registers the {kind} '{name}', which {owner} already registered; rename one of them");
                return null;
            }
        }

        foreach (var (kind, name) in registrar.Names)
        {
            owners[(kind, name)] = $"plugin '{entry.Name}'";
        }

        registrar.CommitTo(catalog);
        var version = AssemblyVersions.Of(assembly);
        return new LoadedPlugin(entry.Name, version, entry.AssemblyPath,
            [.. registrar.Workers.Keys], [.. registrar.Scorers.Keys], [.. registrar.Mergers.Keys])
        {
            Strategies = [.. registrar.Strategies.Keys],
        };
    }

    /// <summary>Reads which SDK version an assembly was built against, from its metadata, without loading it.</summary>
    private static Version? ReferencedSdkVersion(string path, out string? notAssembly)
    {
        notAssembly = null;
        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata)
            {
                notAssembly = $"{Path.GetFileName(path)} is not a .NET assembly";
                return null;
            }

            var metadata = pe.GetMetadataReader();
            foreach (var handle in metadata.AssemblyReferences)
            {
                var reference = metadata.GetAssemblyReference(handle);
                if (metadata.GetString(reference.Name) == SdkAssemblyName)
                {
                    return reference.Version;
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is BadImageFormatException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            notAssembly = $"{Path.GetFileName(path)} is not a .NET assembly ({ex.Message})";
            return null;
        }
    }

    /// <summary>Holds a plugin's registrations until the plugin has registered without failing.</summary>
    private sealed class PendingRegistrar(JsonElement settings, ILoggerFactory loggerFactory) : IPluginRegistrar
    {
        public Dictionary<string, ParallelFlowWorker> Workers { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, ParallelFlowScorer> Scorers { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, ParallelFlowMerger> Mergers { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, ParallelFlowStrategy> Strategies { get; } = new(StringComparer.Ordinal);

        public JsonElement Settings => settings;

        public ILoggerFactory LoggerFactory => loggerFactory;

        public IEnumerable<(string Kind, string Name)> Names =>
            Workers.Keys.Select(n => ("worker", n)).Concat(Scorers.Keys.Select(n => ("scorer", n))).Concat(Mergers.Keys.Select(n => ("merger", n)))
                .Concat(Strategies.Keys.Select(n => ("strategy", n)));

        public void AddWorker(string name, ParallelFlowWorker worker) => Add(Workers, "worker", name, worker);

        public void AddScorer(string name, ParallelFlowScorer scorer) => Add(Scorers, "scorer", name, scorer);

        public void AddMerger(string name, ParallelFlowMerger merger) => Add(Mergers, "merger", name, merger);

        public void AddStrategy(string name, ParallelFlowStrategy strategy)
        {
            if (Plans.SchedulingStrategies.Parse(name) is not null)
            {
                throw new InvalidOperationException($"the strategy '{name}' is built in; choose another name");
            }

            Add(Strategies, "strategy", name, strategy);
        }

        public HashSet<string> SecretVariables { get; } = new(StringComparer.Ordinal);

        public Func<string, int>? TokenCounter { get; private set; }

        public void SetTokenCounter(Func<string, int> countTokens) => TokenCounter = countTokens ?? throw new ArgumentNullException(nameof(countTokens));

        public void AddSecretVariable(string name)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
            SecretVariables.Add(name);
        }

        public void CommitTo(WorkerCatalog catalog)
        {
            // In the order plugins have always been committed: secret variables, workers, then the rest.
            catalog.AddParts([], [], [], SecretVariables);
            foreach (var (name, worker) in Workers)
            {
                catalog.AddWorker(name, worker);
            }

            catalog.AddParts(Scorers, Mergers, Strategies, []);
            if (TokenCounter is { } counter)
            {
                catalog.TokenCounter = counter;
            }
        }

        private static void Add<T>(Dictionary<string, T> registry, string kind, string name, T item)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
            ArgumentNullException.ThrowIfNull(item);
            if (!registry.TryAdd(name, item))
            {
                throw new InvalidOperationException($"the {kind} '{name}' is registered twice by this plugin");
            }
        }
    }
}
