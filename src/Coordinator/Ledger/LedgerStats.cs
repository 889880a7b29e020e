using MmCluster.Shared.Manifest;

namespace MmCluster.Coordinator.Ledger;

/// <summary>
/// The ledger's counts for every epoch of one stage planned so far; published to the RunActor after each change.
/// <see cref="Stage"/> is the schedule index of the stage whose ledger this is (each stage has a fresh ledger).
/// </summary>
public sealed record LedgerStats(IReadOnlyList<EpochLedgerStats> Epochs)
{
    public static readonly LedgerStats Empty = new([]);

    public int Stage { get; init; }
}

/// <summary>
/// One epoch's counts. <c>Missing</c> is what no commit covers yet, neither trained nor skipped as bad: at the end of a
/// run with a final commit, the rows never reached (shards never done, or rows a worker dropped). An epoch in which no
/// shard was reported done (only planned, leased or read ahead into) did not run (<see cref="Ran"/> false), and its
/// <c>Missing</c> is 0.
/// </summary>
public sealed record EpochLedgerStats(
    int Epoch,
    int Shards,
    int Pending,
    int Leased,
    int DoneUncommitted,
    int Committed,
    long SamplesExpected,
    long SamplesCommitted,
    long SamplesUncommitted,
    long Duplicates,
    long Missing,
    bool IsComplete)
{
    /// <summary>Some shard of the epoch was reported done (or restored as committed).</summary>
    public bool Ran { get; init; } = true;

    /// <summary>Rows skipped as bad in committed shards (covered by a commit: not missing).</summary>
    public long SkippedCommitted { get; init; }

    /// <summary>Rows skipped as bad in shards done but not yet committed.</summary>
    public long SkippedUncommitted { get; init; }

    /// <summary>Rows skipped in every done shard (committed or not), by reason name.</summary>
    public IReadOnlyDictionary<string, long> SkippedByReason { get; init; } = SkipCounts.None;

    /// <summary>The files with skipped rows, in ordinal order.</summary>
    public IReadOnlyList<FileLedgerStats> SkippedByFile { get; init; } = [];
}
