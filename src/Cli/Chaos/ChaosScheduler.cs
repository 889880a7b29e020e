using MmCluster.Cli.Watch;
using MmCluster.Shared.Grpc.Dashboard;

namespace MmCluster.Cli.Chaos;

/// <summary>
/// Says which actions of a <see cref="ChaosPlan"/> are due, given the time since the workers were started and the run's
/// latest dashboard snapshot; each action is due once. Pure: no processes, no clock of its own, so specs drive it with
/// made-up snapshots and times.
/// </summary>
internal sealed class ChaosScheduler
{
    private readonly List<ChaosAction> pending;
    private readonly IEnumerator<ChaosAction>? random;
    private ChaosAction? nextRandom;

    public ChaosScheduler(ChaosPlan plan, int workers)
    {
        ArgumentNullException.ThrowIfNull(plan);
        pending = [.. plan.Actions];
        random = plan.Random?.Actions(workers).GetEnumerator();
        nextRandom = random is not null && random.MoveNext() ? random.Current : null;
    }

    /// <summary>
    /// The actions due now, in plan order (random kills last, by time), each returned once. A step trigger is due when
    /// the run is running and its running stage (the named one, if any) shows a step at or past the trigger's; a time
    /// trigger when <paramref name="elapsed"/> reached it. Nothing is due once the run finished, failed or was cancelled.
    /// </summary>
    public IReadOnlyList<ChaosAction> Due(TimeSpan elapsed, RunSnapshot? snapshot)
    {
        if (snapshot is not null && DashboardWatcher.IsFinal(snapshot.State))
        {
            return [];
        }
        var due = pending.Where(a => IsDue(a, elapsed, snapshot)).ToList();
        pending.RemoveAll(due.Contains);
        while (nextRandom is { After: { } at } && at <= elapsed)
        {
            due.Add(nextRandom);
            nextRandom = random!.MoveNext() ? random.Current : null;
        }
        return due;
    }

    private static bool IsDue(ChaosAction action, TimeSpan elapsed, RunSnapshot? snapshot) => action.AtStep is { } step
        ? snapshot is { State: RunState.Running } s && (action.InStage is null || s.Stage == action.InStage) && s.Step >= step
        : action.After is { } after && elapsed >= after;
}
