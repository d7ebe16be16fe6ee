using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Voting;

/// <summary>Registers the voting stage's scorers: <c>weighted</c>, <c>consensus</c>, <c>pareto</c> and <c>synthesis</c>.</summary>
public sealed class VotingPlugin : ParallelFlowPlugin
{
    /// <inheritdoc/>
    public override void Register(IPluginRegistrar registrar)
    {
        ArgumentNullException.ThrowIfNull(registrar);
        registrar.AddScorer("weighted", new WeightedScorer());
        registrar.AddScorer("consensus", new ConsensusScorer());
        registrar.AddScorer("pareto", new ParetoScorer());
        registrar.AddScorer("synthesis", new SynthesisScorer());
    }
}
