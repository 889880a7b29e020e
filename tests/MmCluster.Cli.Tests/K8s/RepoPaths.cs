namespace MmCluster.Cli.Tests.K8s;

/// <summary>Finds the repository root (the folder holding MmCluster.sln) from the test's bin directory.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = Find();

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MmCluster.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no MmCluster.sln above {AppContext.BaseDirectory}");
    }
}
