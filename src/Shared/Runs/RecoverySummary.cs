namespace MmCluster.Shared.Runs;

/// <summary>
/// One recovery of a run (docs/fault-tolerance.md), as summary.json, metrics.jsonl and the dashboard show it: the step it
/// kept, why, the generations and world sizes before and after, the steps lost, and the time from the first sign of the
/// failure the coordinator saw (<see cref="NoticedAt"/>) until every survivor confirmed the abort (<see cref="AbortMs"/>),
/// the next generation was sent (<see cref="ReformMs"/>, includes waiting for a replacement), its state was in place and
/// its first step began (<see cref="TransferMs"/>) and that step was trained (<see cref="FirstStepMs"/>).
/// </summary>
public sealed record RecoverySummary
{
    public required string Stage { get; init; }

    public long Step { get; init; }

    public required string Cause { get; init; }

    public long GenerationBefore { get; init; }

    public long GenerationAfter { get; init; }

    public int WorldSizeBefore { get; init; }

    public int WorldSizeAfter { get; init; }

    public long LostSteps { get; init; }

    public DateTimeOffset NoticedAt { get; init; }

    public double? AbortMs { get; init; }

    public double? ReformMs { get; init; }

    public double? TransferMs { get; init; }

    public double? FirstStepMs { get; init; }

    public int LeasesReturned { get; init; }

    public long RowsRewound { get; init; }

    /// <summary>A grow (a worker joined a run below its world size), not a failure.</summary>
    public bool Grow { get; init; }
}
