namespace MmCluster.Coordinator.Web;

/// <summary>What the web dashboard shows: a running coordinator's hub, or a finished run's files (<c>mmcluster dashboard</c>).</summary>
public enum WebDashboardMode
{
    Live,
    Offline,
}
