namespace ParallelFlow.Sdk;

/// <summary>
/// A plugin's entry point: names the workers, scorers and mergers the plugin provides. The engine creates one
/// instance per plugin with the public parameterless constructor and calls <see cref="Register"/> once, at load.
/// </summary>
/// <remarks>
/// <b>Exception contract.</b> An exception thrown from <see cref="Register"/> fails the loading of this plugin only:
/// the engine reports it with the plugin's name, and none of what the plugin registered before throwing is used.
/// </remarks>
public abstract class ParallelFlowPlugin
{
    /// <summary>Registers what the plugin provides.</summary>
    /// <param name="registrar">Takes the registrations and hands over the plugin's settings.</param>
    public abstract void Register(IPluginRegistrar registrar);
}
