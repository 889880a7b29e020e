using MmCluster.Cli.Watch;
using MmCluster.Shared.Grpc.Dashboard;

namespace MmCluster.Cli.Hosting;

/// <summary>
/// The dev cluster's view of the run: the latest dashboard snapshot, for the chaos scheduler, and whether the run is
/// over (a final snapshot was seen), which tells the supervisors to stop restarting. Thread-safe.
/// </summary>
internal sealed class RunTracker
{
    private RunSnapshot? latest;
    private int over;

    public RunSnapshot? Latest => Volatile.Read(ref latest);

    /// <summary>A snapshot said the run succeeded, failed or was cancelled, or <see cref="MarkOver"/> was called.</summary>
    public bool IsOver => Volatile.Read(ref over) == 1;

    public void Observe(RunSnapshot snapshot)
    {
        Volatile.Write(ref latest, snapshot);
        if (DashboardWatcher.IsFinal(snapshot.State))
        {
            MarkOver();
        }
    }

    public void MarkOver() => Volatile.Write(ref over, 1);
}
