namespace ParallelFlow.Sdk;

/// <summary>Facts about this SDK that hosts check plugins against.</summary>
public static class SdkInfo
{
    /// <summary>The SDK's major version. A plugin built against another major version is refused at load.</summary>
    public const int MajorVersion = 1;
}
