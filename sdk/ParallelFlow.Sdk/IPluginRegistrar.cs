using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ParallelFlow.Sdk;

/// <summary>Takes a plugin's registrations. Implemented by the engine; a plugin only calls it.</summary>
/// <remarks>Names are case-sensitive and must be unique across all loaded plugins and the built-in workers;
/// a name registered twice is reported as an error naming both plugins.</remarks>
public interface IPluginRegistrar
{
    /// <summary>The plugin's <c>settings</c> object from plugins.json.</summary>
    /// <value>An empty JSON object when none was given.</value>
    JsonElement Settings { get; }

    /// <summary>Creates loggers for the plugin's components.</summary>
    ILoggerFactory LoggerFactory { get; }

    /// <summary>Registers a worker under the name plans use in a task's <c>worker</c> key.</summary>
    /// <param name="name">The worker type's name, for example <c>process</c>.</param>
    /// <param name="worker">The instance that serves every task of this type.</param>
    void AddWorker(string name, ParallelFlowWorker worker);

    /// <summary>Registers a vote scorer.</summary>
    /// <param name="name">The scorer's name, as vote tasks refer to it.</param>
    /// <param name="scorer">The instance that serves every vote using it.</param>
    void AddScorer(string name, ParallelFlowScorer scorer);

    /// <summary>Registers a section merger.</summary>
    /// <param name="name">The merger's name, as section tasks refer to it.</param>
    /// <param name="merger">The instance that serves every section task using it.</param>
    void AddMerger(string name, ParallelFlowMerger merger);

    /// <summary>Registers a scheduling strategy.</summary>
    /// <param name="name">The strategy's name, as plans (<c>strategy</c>) and <c>--strategy</c> refer to it. The
    /// built-in names (<c>critical_path</c>, <c>priority</c>, <c>fifo</c>, <c>shortest_first</c>) are taken.</param>
    /// <param name="strategy">The instance that orders the ready tasks of every run using it.</param>
    void AddStrategy(string name, ParallelFlowStrategy strategy);

    /// <summary>Gives the engine the token count of the plugin's model, for plans' <c>context</c> limits (by default
    /// the engine counts about four characters a token). The last plugin to give one wins.</summary>
    /// <param name="countTokens">The tokens of a text; called from any thread.</param>
    void SetTokenCounter(Func<string, int> countTokens)
    {
    }

    /// <summary>Declares an environment variable whose value is a secret, such as the variable an API key is read from:
    /// the engine replaces that value by <c>***</c> wherever it would show — task outputs and errors, decision
    /// records, events, logs, reports and the run journal — whatever path it took there (a server that echoes the key
    /// in an error, a program that prints its environment).</summary>
    /// <param name="name">The variable's name, for example <c>OPENAI_API_KEY</c>.</param>
    /// <remarks>The default does nothing, so registrars written before this member (test doubles, other hosts) still
    /// compile; the engine's registrar records the variable.</remarks>
    void AddSecretVariable(string name)
    {
    }
}
