namespace ParallelFlow.Engine.Plugins;

/// <summary>The codes of plugin problems, beside the plan codes.</summary>
internal static class PluginErrors
{
    public const string ManifestCode = "PF0101";
    public const string LoadCode = "PF0102";
    public const string SdkVersionCode = "PF0103";
    public const string RegistrationCode = "PF0104";
    public const string DuplicateNameCode = "PF0105";
}
