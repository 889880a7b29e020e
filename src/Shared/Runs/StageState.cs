namespace MmCluster.Shared.Runs;

/// <summary>A stage of the schedule: waiting for its dependencies, running, done or failed.</summary>
public enum StageState
{
    Pending,
    Running,
    Done,
    Failed,
}
