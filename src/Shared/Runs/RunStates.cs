namespace MmCluster.Shared.Runs;

public static class RunStates
{
    public static bool IsFinal(this RunState state) => state is RunState.Succeeded or RunState.Failed or RunState.Cancelled;
}
