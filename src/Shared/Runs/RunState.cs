namespace MmCluster.Shared.Runs;

/// <summary>Where a run is in its life; <see cref="RunStates.IsFinal"/> tells watchers when to stop.</summary>
public enum RunState
{
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}
