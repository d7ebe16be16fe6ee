namespace ParallelFlow.Fixtures;

public sealed class WrongSdkPlugin : ParallelFlow.Sdk.ParallelFlowPlugin
{
    public override void Register(object registrar)
    {
    }
}
