namespace MmCluster.Coordinator.Ledger;

/// <summary>
/// One file's share of an epoch in which some of its rows were skipped: the rows its shards plan, the rows trained in
/// its committed shards, and the rows skipped in its done shards by reason. Published inside <see cref="EpochLedgerStats"/>.
/// </summary>
public sealed record FileLedgerStats(
    string File,
    long SamplesExpected,
    long SamplesCommitted,
    IReadOnlyDictionary<string, long> SkippedByReason);
