namespace ParallelFlow.Sdk;

public abstract class ParallelFlowPlugin
{
    public abstract void Register(object registrar);
}
