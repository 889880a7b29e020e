namespace MmCluster.Shared.Hosting;

/// <summary>The cluster roles: workers find the coordinator by its role; the split-brain resolver keeps its side.</summary>
public static class ClusterRoles
{
    /// <summary>The coordinator process (the seed node and the oldest member).</summary>
    public const string Coordinator = "coordinator";

    /// <summary>A worker process.</summary>
    public const string Worker = "worker";
}
