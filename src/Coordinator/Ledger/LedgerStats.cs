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
/// One epoch's counts. <c>Missing</c> is what no commit covers yet: at the end of a run with a final commit it is the
/// number of samples never trained on (shards never done, or rows a worker dropped).
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
    bool IsComplete);
