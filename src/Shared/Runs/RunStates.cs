using System.Text.Json;

namespace MmCluster.Shared.Runs;

public static class RunStates
{
    public static bool IsFinal(this RunState state) => state is RunState.Succeeded or RunState.Failed or RunState.Cancelled;

    /// <summary>The state as <c>summary.json</c>'s <c>status</c> spells it: snake_case (<c>succeeded</c>, <c>failed</c>, ...).</summary>
    public static string StatusName(this RunState state) => JsonNamingPolicy.SnakeCaseLower.ConvertName(state.ToString());

    /// <summary>A <c>summary.json</c> <c>status</c> back as a state; one that names no state reads as failed.</summary>
    public static RunState ParseStatus(string status) =>
        Enum.GetValues<RunState>().FirstOrDefault(s => s.StatusName() == status, RunState.Failed);
}
