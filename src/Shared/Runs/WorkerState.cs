namespace MmCluster.Shared.Runs;

/// <summary>A worker as the coordinator last saw it.</summary>
public enum WorkerState
{
    Joining,
    Ready,
    Training,
    Evaluating,
    Checkpointing,
    Left,
    Unreachable,
}
