namespace MmCluster.Cli.Chaos;

/// <summary>
/// One line of chaos.jsonl: when (<see cref="Time"/>, and <see cref="ElapsedS"/> since the workers were started), what
/// (<see cref="Action"/>: kill, stop or cont, from the plan's <see cref="Clause"/>), to whom (<see cref="Target"/>,
/// <see cref="Pid"/>), where the run was (<see cref="Stage"/>, <see cref="Step"/>) and whether the signal was
/// <see cref="Result"/> <c>sent</c>, or why not.
/// </summary>
internal sealed record ChaosRecord(
    DateTimeOffset Time, double ElapsedS, string Action, string Target, int? Pid, string? Stage, long? Step, string Clause, string Result);
