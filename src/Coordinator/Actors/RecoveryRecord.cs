namespace MmCluster.Coordinator.Actors;

/// <summary>
/// One recovery, as summary.json, metrics.jsonl and the dashboard show it. Times are measured on the coordinator from
/// the first sign of the failure it saw (<paramref name="NoticedAt"/>): <paramref name="AbortMs"/> until every survivor
/// confirmed the abort, <paramref name="ReformMs"/> until the new generation was sent (includes waiting for a replacement),
/// <paramref name="TransferMs"/> until the new generation's first step started (state transfer and input ready), and
/// <paramref name="FirstStepMs"/> until its first step was trained. Null: not (yet) seen.
/// </summary>
public sealed record RecoveryRecord(
    string Stage,
    long Step,
    string Cause,
    long GenerationBefore,
    long GenerationAfter,
    int WorldBefore,
    int WorldAfter,
    long LostSteps,
    DateTimeOffset NoticedAt)
{
    public double? AbortMs { get; init; }

    public double? ReformMs { get; init; }

    public double? TransferMs { get; init; }

    public double? FirstStepMs { get; init; }

    /// <summary>Leases the ledger handed back, and rows of completions by discarded steps it rewound.</summary>
    public int LeasesReturned { get; init; }

    public long RowsRewound { get; init; }

    /// <summary>Whether this was a grow (a worker joined) rather than a failure.</summary>
    public bool Grow { get; init; }
}
