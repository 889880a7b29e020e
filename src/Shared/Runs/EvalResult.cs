namespace MmCluster.Shared.Runs;

/// <summary>The metrics of one evaluation of one stage at one step.</summary>
public sealed record EvalResult(string Stage, long Step, IReadOnlyDictionary<string, double> Metrics, DateTimeOffset At);
