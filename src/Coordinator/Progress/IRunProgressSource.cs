using MmCluster.Shared.Runs;

namespace MmCluster.Coordinator.Progress;

/// <summary>
/// What the dashboard reads: the run's latest snapshot, a live feed of snapshots and the recorded history. The dashboard
/// service depends on this interface only, never on the actors; <see cref="RunProgressHub"/> is the implementation the
/// RunActor pushes into.
/// </summary>
public interface IRunProgressSource
{
    RunSnapshot Current { get; }

    /// <summary>Training and evaluation points recorded so far, oldest first.</summary>
    IReadOnlyList<HistoryPoint> History { get; }

    /// <summary>
    /// The points held that were recorded at or after position <paramref name="cursor"/> (the n-th point recorded has
    /// position n - 1; thinning never renumbers), oldest first, and the position the next point will get. 0 returns
    /// every point held.
    /// </summary>
    HistorySlice HistorySince(long cursor);

    /// <summary>
    /// The current snapshot, then the latest one after every change (a slow reader skips intermediate snapshots, never the
    /// last); completes after a final snapshot (<see cref="RunStates.IsFinal"/>).
    /// </summary>
    IAsyncEnumerable<RunSnapshot> Subscribe(CancellationToken cancellationToken);
}
